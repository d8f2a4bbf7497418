//! Waits and re-entry in calendar months, and `DATE at "HH:MM"` as a wake
//! time, through the real engine: `test` blocks run by the tester on both
//! backends (the clock starts at 2025-01-01 09:00, Asia/Tokyo).

use super::test_support::test_blocks_pass;

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
    test_blocks_pass(PROJECT, 4);
}

/// Business waits (DESIGN §11) on a calendar with Japan's holidays: the
/// clock starts on 元日, Wednesday 2025-01-01 09:00; `after 114d6h` is
/// Friday 2025-04-25 15:00, the Friday before Golden Week (4/29 昭和の日).
const BUSINESS: &str = r#"
timezone "Asia/Tokyo"

record ticket {
  title: text
}

calendar business {
  weekends: saturday, sunday
  holidays: japan
  hours: "09:00" to "18:00"
}

rule follow_up
  when ticket is created
  wait 3 business days
  tag ticket "followed_up"
end

rule escalate
  when ticket is created
  wait 4 business hours
  tag ticket "escalated"
end

test "three business days from Friday 15:00 skip the weekend and 昭和の日: Thursday 15:00"
  after 114d6h
  given ticket t = { title: "A" }
  after 5d23h59m
  expect not (t has tag "followed_up")
  after 1m
  expect t has tag "followed_up"
end

test "four business hours from Friday 17:00 are Monday 12:00"
  after 114d8h
  given ticket t = { title: "A" }
  after 2d18h59m
  expect not (t has tag "escalated")
  after 1m
  expect t has tag "escalated"
end

test "four business hours from Monday 17:00 skip 昭和の日: Wednesday 12:00"
  after 117d8h
  given ticket t = { title: "A" }
  after 1d18h59m
  expect not (t has tag "escalated")
  after 1m
  expect t has tag "escalated"
end

test "a ticket opened on 元日 at 09:00 waits for the first business hours: 1/2 13:00"
  given ticket t = { title: "A" }
  after 1d3h59m
  expect not (t has tag "escalated")
  after 1m
  expect t has tag "escalated"
end
"#;

#[test]
fn business_waits_count_business_days_and_open_hours() {
    test_blocks_pass(BUSINESS, 4);
}
