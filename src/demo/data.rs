//! Realistic, deterministic demo data: a Japanese B2B CRM.

use rusqlite::{Connection, params};

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
    // Managers are inserted after their reports: check references at commit.
    conn.execute_batch("BEGIN; PRAGMA defer_foreign_keys = ON;")?;
    for (i, (name, email, role)) in USERS.iter().enumerate() {
        let manager: Option<i64> = if *role == "sales" { Some(6) } else { None };
        conn.execute(
            "INSERT INTO user (id, name, email, role, manager) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![i as i64 + 1, name, email, role, manager],
        )?;
    }
    for i in 1..=SIZE.companies {
        let name = format!(
            "株式会社{}{}",
            rng.pick(COMPANY_WORDS),
            rng.pick(COMPANY_KINDS)
        );
        let employees = [12, 40, 85, 150, 300, 800, 1500, 5000][rng.below(8) as usize];
        conn.execute(
            "INSERT INTO company (id, name, prefecture, employees, industry) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![i as i64, name, rng.pick(PREFECTURES), employees, rng.pick(INDUSTRIES)],
        )?;
    }
    for i in 1..=SIZE.contacts {
        let company = rng.below(SIZE.companies as u64) as i64 + 1;
        let owner = rng.below(4) as i64 + 1;
        conn.execute(
            "INSERT INTO contact (id, name, email, company, score, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![i as i64, person(rng), format!("contact{i}@customer{company}.example.jp"), company, rng.below(100) as i64, owner],
        )?;
    }
    let stages = ["見込み", "提案", "05", "06", "07", "提案", "見込み"];
    for i in 1..=SIZE.opportunities {
        let contact = rng.below(SIZE.contacts as u64) as i64 + 1;
        let amount = (rng.below(60) as i64 + 1) * 250_000;
        let close = crate::time::format_date(start + 30 + rng.below(300) as i32);
        conn.execute(
            "INSERT INTO opportunity (id, name, stage, amount, close_date, contact, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![i as i64, format!("{} #{i}", rng.pick(DEALS)), rng.pick(&stages), amount, close, contact, rng.below(4) as i64 + 1],
        )?;
        for _ in 0..(2 + rng.below(3)) {
            let list = (rng.below(40) as i64 + 5) * 10_000;
            let discount = rng.below(30) as i64;
            conn.execute(
                "INSERT INTO line_item (opportunity, product, sale_price, list_price) VALUES (?1, ?2, ?3, ?4)",
                params![i as i64, rng.pick(PRODUCTS), list * (100 - discount) / 100, list],
            )?;
        }
    }
    for i in 1..=SIZE.contracts {
        let opportunity = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let contact: i64 = conn.query_row(
            "SELECT contact FROM opportunity WHERE id = ?1",
            [opportunity],
            |r| r.get(0),
        )?;
        let renewal = crate::time::format_date(start + 40 + rng.below(100) as i32);
        conn.execute(
            "INSERT INTO contract (id, contact, opportunity, renewal_date) VALUES (?1, ?2, ?3, ?4)",
            params![i as i64, contact, opportunity, renewal],
        )?;
    }
    conn.execute_batch("COMMIT")
}

/// One simulated day's changes and events, made by "other programs".
pub fn day(
    conn: &Connection,
    rng: &mut Rng,
    day_start: i64,
    lead_id: &mut i64,
    opp_id: &mut i64,
) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN")?;
    // Stage changes in the sales pipeline.
    for _ in 0..(3 + rng.below(4)) {
        let id = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let stage = *rng.pick(&["失注", "受注", "未決定", "提案", "06"]);
        // Won deals are locked: the CRM's write fails, as it should.
        let _ = conn.execute(
            "UPDATE opportunity SET stage = ?1 WHERE id = ?2",
            params![stage, id],
        );
    }
    // Lead scoring: engagement moves a few contacts' scores up or down.
    for _ in 0..(4 + rng.below(6)) {
        let id = rng.below(SIZE.contacts as u64) as i64 + 1;
        let delta = rng.below(31) as i64 - 10;
        conn.execute(
            "UPDATE contact SET score = max(0, min(100, score + ?1)) WHERE id = ?2",
            params![delta, id],
        )?;
    }
    // Some discounts, some of them deep.
    for _ in 0..rng.below(3) {
        let id = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let _ = conn.execute(
            "UPDATE line_item SET sale_price = list_price / 5 WHERE opportunity = ?1",
            [id],
        );
    }
    // Price cuts that need the manager's approval.
    if rng.chance(30) {
        let id = rng.below(SIZE.opportunities as u64) as i64 + 1;
        let _ = conn.execute(
            "UPDATE opportunity SET amount = amount * 8 / 10 WHERE id = ?1",
            [id],
        );
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
        let employees: Option<i64> = if rng.chance(60) {
            Some([30, 200, 1200, 3000][rng.below(4) as usize])
        } else {
            None
        };
        conn.execute(
            "INSERT INTO lead (id, name, email, prefecture, interest, employees, industry) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![*lead_id, person(rng), format!("lead{}@prospect.example.jp", *lead_id), rng.pick(PREFECTURES), interest, employees, rng.pick(INDUSTRIES)],
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
        conn.execute(
            "INSERT INTO opportunity (id, name, stage, amount, close_date, contact, owner) VALUES (?1, ?2, '見込み', ?3, ?4, ?5, ?6)",
            params![*opp_id, format!("{} #{}", rng.pick(DEALS), *opp_id), amount, close, contact, rng.below(4) as i64 + 1],
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
            r#"{"form": "春のDXセミナー"}"#,
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
    conn.execute_batch("COMMIT")
}
