//! Realistic, deterministic demo data: a Japanese B2B CRM.

use crate::store::rows;
use crate::store::tx::{self, Scope};
use rusqlite::Connection;
use rusqlite::types::Value as Sql;

/// A small deterministic random number generator (the demo must be the
/// same on every machine).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const FAMILY: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];
const GIVEN: &[&str] = &[
    "花子",
    "一郎",
    "美咲",
    "翔太",
    "陽菜",
    "大輔",
    "結衣",
    "健太",
    "彩",
    "拓也",
    "七海",
    "直樹",
    "愛",
    "亮",
    "真由美",
];
const PREFECTURES: &[&str] = &[
    "東京都",
    "大阪府",
    "愛知県",
    "北海道",
    "福岡県",
    "神奈川県",
    "京都府",
    "宮城県",
    "広島県",
    "静岡県",
];
const INDUSTRIES: &[&str] = &[
    "製造業",
    "物流",
    "小売",
    "IT",
    "金融",
    "医療",
    "建設",
    "教育",
];
const COMPANY_WORDS: &[&str] = &[
    "日本", "東和", "三星", "大和", "光", "北斗", "青葉", "未来", "富士", "桜",
];
const COMPANY_KINDS: &[&str] = &[
    "商事",
    "工業",
    "システムズ",
    "物産",
    "製作所",
    "ホールディングス",
    "テクノロジー",
];
const PRODUCTS: &[&str] = &[
    "クラウドERP",
    "CRMライセンス",
    "導入支援",
    "保守サポート",
    "データ連携",
    "研修",
];
const DEALS: &[&str] = &[
    "基幹刷新",
    "営業DX",
    "追加ライセンス",
    "年間保守",
    "データ基盤",
    "全社展開",
    "PoC",
];

/// The sales team, with fixed emails the rules refer to.
pub const USERS: &[(&str, &str, &str)] = &[
    ("佐藤 健", "sato@example.jp", "sales"),
    ("加藤 美穂", "kato@example.jp", "sales"),
    ("高橋 誠", "takahashi@example.jp", "sales"),
    ("伊藤 さくら", "ito@example.jp", "sales"),
    ("インサイドセールス", "inside@example.jp", "sales"),
    ("渡辺 部長", "watanabe@example.jp", "manager"),
    ("中村 社長", "ceo@example.jp", "executive"),
    ("小林 取締役", "cfo@example.jp", "executive"),
];

/// How much data the demo starts with.
pub struct Size {
    pub companies: usize,
    pub contacts: usize,
    pub opportunities: usize,
    pub contracts: usize,
}

pub const SIZE: Size = Size {
    companies: 60,
    contacts: 300,
    opportunities: 200,
    contracts: 80,
};

pub fn person(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(FAMILY), rng.pick(GIVEN))
}

/// Fills the tables with the CRM as it was before flowc was installed.
pub fn seed(conn: &Connection, rng: &mut Rng, start: i32) -> rusqlite::Result<()> {
    tx::begin(conn, Scope::Transaction)?;
    // Managers are inserted after their reports: check references at commit.
    tx::defer_foreign_keys(conn)?;
    for (i, (name, email, role)) in USERS.iter().enumerate() {
        let manager = if *role == "sales" { int(6) } else { Sql::Null };
        insert(
            conn,
            "user",
            [
                ("id", int(i as i64 + 1)),
                ("name", text(name)),
                ("email", text(email)),
                ("role", text(role)),
                ("manager", manager),
            ],
        )?;
    }
    for i in 1..=SIZE.companies {
        let name = format!(
            "株式会社{}{}",
            rng.pick(COMPANY_WORDS),
            rng.pick(COMPANY_KINDS)
        );
        let employees = [12, 40, 85, 150, 300, 800, 1500, 5000][rng.below(8) as usize];
        insert(
            conn,
            "company",
            [
                ("id", int(i as i64)),
                ("name", text(&name)),
                ("prefecture", text(rng.pick(PREFECTURES))),
                ("employees", int(employees)),
                ("industry", text(rng.pick(INDUSTRIES))),
            ],
        )?;
    }
    for i in 1..=SIZE.contacts {
        let company = rng.below(SIZE.companies as u64) as i64 + 1;
        // Every tenth contact has no owner yet (mail signs for the department).
        let owner = match rng.below(4) as i64 + 1 {
            _ if i % 10 == 0 => Sql::Null,
            owner => int(owner),
        };
        insert(
            conn,
            "contact",
            [
                ("id", int(i as i64)),
                ("name", text(person(rng))),
                (
                    "email",
                    text(format!("contact{i}@customer{company}.example.jp")),
                ),
                ("company", int(company)),
                ("score", int(rng.below(100) as i64)),
                ("owner", owner),
            ],
        )?;
    }
    let stages = ["見込み", "提案", "05", "06", "07", "提案", "見込み"];
    for i in 1..=SIZE.opportunities {
        let contact = rng.below(SIZE.contacts as u64) as i64 + 1;
        let amount = (rng.below(60) as i64 + 1) * 250_000;
        let close = crate::time::format_date(start + 30 + rng.below(300) as i32);
        insert(
            conn,
            "opportunity",
            [
                ("id", int(i as i64)),
                ("name", text(format!("{} #{i}", rng.pick(DEALS)))),
                ("stage", text(rng.pick(&stages))),
                ("amount", int(amount)),
                ("close_date", text(&close)),
                ("contact", int(contact)),
                ("owner", int(rng.below(4) as i64 + 1)),
            ],
        )?;
        for _ in 0..(2 + rng.below(3)) {
            let list = (rng.below(40) as i64 + 5) * 10_000;
            let discount = rng.below(30) as i64;
            insert(
                conn,
                "line_item",
                [
                    ("opportunity", int(i as i64)),
                    ("product", text(rng.pick(PRODUCTS))),
                    ("sale_price", int(list * (100 - discount) / 100)),
                    ("list_price", int(list)),
                ],
            )?;
        }
    }
    for i in 1..=SIZE.contracts {
        let opportunity = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let contact = rows::int_column(conn, "opportunity", "contact", opportunity)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        let renewal = crate::time::format_date(start + 40 + rng.below(100) as i32);
        insert(
            conn,
            "contract",
            [
                ("id", int(i as i64)),
                ("contact", int(contact)),
                ("opportunity", int(opportunity)),
                ("renewal_date", text(&renewal)),
            ],
        )?;
    }
    tx::commit(conn, Scope::Transaction)
}

fn int(i: i64) -> Sql {
    Sql::Integer(i)
}

fn text(t: impl AsRef<str>) -> Sql {
    Sql::Text(t.as_ref().to_string())
}

/// Inserts a row the way the CRM would, through the store's row operations.
fn insert<const N: usize>(
    conn: &Connection,
    table: &str,
    columns: [(&str, Sql); N],
) -> rusqlite::Result<i64> {
    let columns: Vec<(String, Sql)> = columns
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    rows::insert_row(conn, table, &columns)
}

/// The seminar form's payload: its name, date and fee (the emails about it
/// show them with `| date_ja` and `| yen`).
const SEMINAR: &str = r#"{"form": "春のDXセミナー", "date": "2025-05-23", "fee": 5500}"#;

/// Contacts who unsubscribed from marketing email before the demo month:
/// every `UNSUBSCRIBED`th one (by id).
pub const UNSUBSCRIBED: i64 = 12;

/// The addresses of the contacts who unsubscribed before the month.
pub fn unsubscribed(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    crate::store::baseline::every_nth_contact_email(conn, UNSUBSCRIBED)
}

/// One simulated day's changes and events, made by "other programs".
pub fn day(
    conn: &Connection,
    rng: &mut Rng,
    day_start: i64,
    lead_id: &mut i64,
    opp_id: &mut i64,
) -> rusqlite::Result<()> {
    tx::begin(conn, Scope::Transaction)?;
    // Stage changes in the sales pipeline.
    for _ in 0..(3 + rng.below(4)) {
        let id = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let stage = *rng.pick(&["失注", "受注", "未決定", "提案", "06"]);
        // Won deals are locked: the CRM's write fails, as it should.
        let _ = rows::update_field(conn, "opportunity", "stage", id, text(stage));
    }
    // Lead scoring: engagement moves a few contacts' scores up or down.
    for _ in 0..(4 + rng.below(6)) {
        let id = rng.below(SIZE.contacts as u64) as i64 + 1;
        let delta = rng.below(31) as i64 - 10;
        if let Some(score) = rows::int_column(conn, "contact", "score", id)? {
            let score = (score + delta).clamp(0, 100);
            rows::update_field(conn, "contact", "score", id, int(score))?;
        }
    }
    // Some discounts, some of them deep.
    for _ in 0..rng.below(3) {
        let id = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let items = rows::ids_where(conn, "line_item", Some(("opportunity", int(id))), None)?;
        for item in items {
            if let Some(list) = rows::int_column(conn, "line_item", "list_price", item)? {
                let _ = rows::update_field(conn, "line_item", "sale_price", item, int(list / 5));
            }
        }
    }
    // Price cuts that need the manager's approval.
    if rng.chance(30) {
        let id = rng.below(SIZE.opportunities as u64) as i64 + 1;
        if let Some(amount) = rows::int_column(conn, "opportunity", "amount", id)? {
            let _ = rows::update_field(conn, "opportunity", "amount", id, int(amount * 8 / 10));
        }
    }
    // New web leads.
    for _ in 0..(2 + rng.below(4)) {
        *lead_id += 1;
        let interest = *rng.pick(&[
            "クラウドERPの資料請求",
            "価格のお問い合わせ",
            "導入事例",
            "オンプレミス",
        ]);
        let employees = if rng.chance(60) {
            int([30, 200, 1200, 3000][rng.below(4) as usize])
        } else {
            Sql::Null
        };
        insert(
            conn,
            "lead",
            [
                ("id", int(*lead_id)),
                ("name", text(person(rng))),
                (
                    "email",
                    text(format!("lead{}@prospect.example.jp", *lead_id)),
                ),
                ("prefecture", text(rng.pick(PREFECTURES))),
                ("interest", text(interest)),
                ("employees", employees),
                ("industry", text(rng.pick(INDUSTRIES))),
            ],
        )?;
    }
    // New opportunities, now and then a big one or a far close date.
    for _ in 0..rng.below(3) {
        *opp_id += 1;
        let big = rng.chance(25);
        let amount = if big {
            12_000_000 + rng.below(20) as i64 * 1_000_000
        } else {
            800_000
        };
        let days_ahead = if rng.chance(20) {
            400 + rng.below(200)
        } else {
            60 + rng.below(120)
        };
        let close = crate::time::format_date(
            crate::time::local_date(day_start, chrono_tz::Asia::Tokyo) + days_ahead as i32,
        );
        let contact = rng.below(SIZE.contacts as u64) as i64 + 1;
        insert(
            conn,
            "opportunity",
            [
                ("id", int(*opp_id)),
                ("name", text(format!("{} #{}", rng.pick(DEALS), *opp_id))),
                ("stage", text("見込み")),
                ("amount", int(amount)),
                ("close_date", text(&close)),
                ("contact", int(contact)),
                ("owner", int(rng.below(4) as i64 + 1)),
            ],
        )?;
    }
    // Seminar applications, opened emails and payments, stamped during the day.
    for _ in 0..(4 + rng.below(5)) {
        let contact = rng.below(SIZE.contacts as u64) as i64 + 1;
        let at = day_start + 3600 * (1 + rng.below(9) as i64);
        crate::engine::Engine::record_event(
            conn,
            "form_submitted",
            "contact",
            contact,
            SEMINAR,
            at,
        )?;
        if rng.chance(45) {
            let opened = at + 3600 * (2 + rng.below(100) as i64);
            crate::engine::Engine::record_event(
                conn,
                "email_opened",
                "contact",
                contact,
                r#"{"template": "autoreply"}"#,
                opened,
            )?;
        }
        if rng.chance(55) {
            let paid = at + 3600 * (5 + rng.below(200) as i64);
            crate::engine::Engine::record_event(
                conn,
                "payment_received",
                "contact",
                contact,
                "{}",
                paid,
            )?;
        }
    }
    tx::commit(conn, Scope::Transaction)
}
