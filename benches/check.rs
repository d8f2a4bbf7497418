//! `flowc check` on a generated project of about 10,000 lines
//! (100 records, 500 rules): parse + check, the work CI does on every pull
//! request. Run: `cargo bench --bench check`.

use flowc::project::Project;

fn main() {
    divan::main();
}

/// A realistic project: records with references, enums, lists, templates,
/// and rules using every common step.
pub fn generate(records: usize, rules: usize) -> String {
    let mut s = String::from(
        "timezone \"Asia/Tokyo\"\n\nenum stage { \"見込み\", \"提案\", \"05\", \"06\", \"07\", \"受注\", \"失注\" }\n\n",
    );
    s.push_str("record user {\n  name: text\n  email: text\n  role: text\n}\n\n");
    for r in 0..records {
        s.push_str(&format!("record r{r} {{\n  name: text\n  email: text\n  score: int\n  amount: decimal\n  stage: stage\n  due: date\n  seen: datetime?\n  note: text?\n  owner: user\n"));
        if r > 0 {
            s.push_str(&format!("  parent: r{}\n", r - 1));
        }
        s.push_str("}\n\n");
        s.push_str(&format!("list l{r} of r{r}\n\n"));
        s.push_str(&format!(
            "template t{r} {{\n  subject: \"Hello {{{{r{r}.name}}}}\"\n  body: \"Dear {{{{recipient.name}}}}, your score is {{{{r{r}.score}}}}.\"\n}}\n\n"
        ));
    }
    for i in 0..rules {
        let r = i % records;
        s.push_str(&format!(
            "rule rule{i}\n  when r{r}.stage changes to \"失注\"\n    where r{r}.score >= {i} and r{r}.amount < 1000.5 and days_until(r{r}.due) between 3 and 30\n  reenter after 30d\n  add r{r} to list l{r}\n  send email t{r} to r{r}\n  wait 7d unless r{r} opened t{r}\n  if r{r}.stage in [\"05\", \"06\", \"07\"] and r{r}.note is not null\n    set r{r}.score = r{r}.score + 1\n  else if r{r}.owner.role == \"manager\"\n    create task \"Call {{{{r{r}.name}}}}\" for r{r}.owner due today + 3d\n  else\n    tag r{r} \"cold\"\n  end\n  notify r{r}.owner \"Deal {{{{r{r}.name}}}} needs a look\"\nend\n\n"
        ));
    }
    s
}

#[divan::bench(sample_count = 20)]
fn check_10k_lines(bencher: divan::Bencher) {
    let text = generate(100, 500);
    assert!(
        text.lines().count() >= 10_000,
        "{} lines",
        text.lines().count()
    );
    bencher.bench(|| {
        let project = Project::from_texts([("gen.flow", text.as_str())]);
        let checked = project.check();
        assert!(!checked.has_errors());
        checked.program.rules.len()
    });
}

#[divan::bench(sample_count = 20)]
fn parse_only_10k_lines(bencher: divan::Bencher) {
    let text = generate(100, 500);
    bencher.bench(|| {
        flowc::syntax::parse(flowc::source::FileId(0), &text)
            .module
            .items
            .len()
    });
}
