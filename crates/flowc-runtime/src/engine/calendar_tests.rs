//! Waits and re-entry in calendar months, and `DATE at "HH:MM"` as a wake
//! time, through the real engine: `test` blocks run by the tester on both
//! backends (the clock starts at 2025-01-01 09:00, Asia/Tokyo).

use flowc_jit::compiled::Backend;

const PROJECT: &str = r#"
timezone "Asia/Tokyo"

record car {
  name: text
  ready: bool
  n: int
  inspection: date
}

rule remind
  when car.ready changes to true
  wait 1mo
  tag car "month"
  wait until car.inspection - 4mo at "10:00"
  tag car "four_months"
end

rule count
  when car.ready changes
  reenter after 11mo
  set car.n = car.n + 1
end

test "a month after the 31st of January is the 28th of February, at the same time"
  given car c = { name: "A", ready: false, n: 0, inspection: 2026-06-30 }
  after 30d
  update c set ready = true
  after 27d
  expect not (c has tag "month")
  after 23h59m
  expect not (c has tag "month")
  after 1m
  expect c has tag "month"
end

test "four months before the inspection, at ten"
  given car c = { name: "A", ready: false, n: 0, inspection: 2025-06-30 }
  update c set ready = true
  after 1mo
  expect c has tag "month"
  after 27d
  expect not (c has tag "four_months")
  after 59m
  expect not (c has tag "four_months")
  after 1m
  expect c has tag "four_months"
end

test "reenter after 11mo counts calendar months from the first run's start"
  given car c = { name: "A", ready: false, n: 0, inspection: 2030-01-01 }
  update c set ready = true
  expect c.n == 1
  after 333d
  update c set ready = false
  expect c.n == 1
  after 1d
  update c set ready = true
  expect c.n == 2
end

test "after 1y moves the clock by a calendar year"
  given car c = { name: "A", ready: false, n: 0, inspection: 2030-01-01 }
  update c set ready = true
  after 1y
  update c set ready = false
  expect c.n == 2
end
"#;

#[test]
fn months_and_times_of_day_wake_runs_on_the_calendar() {
    let checked = flowc_check::project::Project::from_texts([("main.flow", PROJECT)]).check();
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let program = &checked.program;
    assert_eq!(program.tests.len(), 4);
    for backend in [Backend::Vm, Backend::Jit] {
        for test in &program.tests {
            let outcome = crate::tester::run(program, test, backend);
            assert!(
                outcome.failure.is_none(),
                "{} ({backend:?}): {:?}",
                test.name,
                outcome.failure
            );
        }
    }
}
