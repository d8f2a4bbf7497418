//! Mistakes people make often, recognised where the parser stopped, so that
//! the error names the mistake and its fix instead of listing what the
//! grammar would have taken there (E0001).
//!
//! Each recogniser looks only at the text around the error position: what
//! is at it, and what the line says before it. A recogniser that is not
//! sure says nothing, and the general error stands.

/// A mistake, with the facts its message and hint need. Rendered by
/// [`super::SyntaxError::to_diagnostic`], each with its own code.
#[derive(Clone, Debug, PartialEq)]
pub enum Mistake {
    /// E0010. `if x = 100`: `=` where a comparison was meant.
    SingleEquals,
    /// E0011. `if x > 1 then` in a step `if`.
    ThenInStepIf,
    /// E0012. `wait 3 days`: a duration written as a number and a word.
    SpacedDuration { written: String, literal: String },
    /// E0013. `&&`, `||`, `!` for `and`, `or`, `not`.
    SymbolOperator {
        written: &'static str,
        word: &'static str,
    },
    /// E0014. `elsif`, `elif`, `elseif` for `else if`.
    Elsif { written: String },
    /// E0015. A character that looks like a space or like ASCII punctuation
    /// but is not: `　` (U+3000), `＝` (U+FF1D).
    LookAlike {
        found: char,
        name: String,
        ascii: char,
    },
    /// E0016. `send email t to role "manager"`: only `notify` sends to a role.
    SendToRole { template: String, role: String },
    /// E0017. `when opportunity.amount > 10000000`: a condition where a
    /// trigger names a change or an event.
    ConditionTrigger {
        record: String,
        path: String,
        condition: String,
    },
}

/// Recognises a mistake at `pos` (a byte offset into `text`, where the
/// parser stopped): the byte range to underline and the mistake.
pub(super) fn recognize(text: &str, pos: usize) -> Option<(usize, usize, Mistake)> {
    let pos = pos.min(text.len());
    let rest = text.get(pos..)?;
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..pos)?;
    let c = rest.chars().next()?;
    let one = |m: Mistake| Some((pos, pos + c.len_utf8(), m));
    if let Some(m) = look_alike(c) {
        return one(m);
    }
    if let Some((len, m)) = condition_trigger(before, rest) {
        return Some((pos, pos + len, m));
    }
    if let Some(m) = send_to_role(before, rest) {
        let end = rest[1..].find('"').map_or(pos + 1, |i| pos + i + 2);
        return Some((pos, end, m));
    }
    for (written, word) in [("&&", "and"), ("||", "or"), ("&", "and"), ("|", "or")] {
        if rest.starts_with(written) {
            let m = Mistake::SymbolOperator { written, word };
            return Some((pos, pos + written.len(), m));
        }
    }
    if c == '!' && !rest.starts_with("!=") {
        return one(Mistake::SymbolOperator {
            written: "!",
            word: "not",
        });
    }
    if c == '=' && !rest.starts_with("==") && in_condition(before) {
        return one(Mistake::SingleEquals);
    }
    let word = word_at(rest);
    let word_end = pos + word.len();
    let starts_step_if = {
        let t = before.trim_start();
        t.starts_with("if ") || t.starts_with("else if ")
    };
    if word == "then" && starts_step_if {
        return Some((pos, word_end, Mistake::ThenInStepIf));
    }
    if matches!(word, "elsif" | "elif" | "elseif" | "elsf") {
        let m = Mistake::Elsif {
            written: word.to_string(),
        };
        return Some((pos, word_end, m));
    }
    spaced_duration(before, word).map(|(number_len, literal)| {
        let start = pos - number_len;
        let written = text[start..word_end].to_string();
        (
            start,
            word_end,
            Mistake::SpacedDuration { written, literal },
        )
    })
}

/// The word-like run of characters at the start of `rest`.
fn word_at(rest: &str) -> &str {
    let end = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// Whether the line so far is inside a condition: after a word that starts
/// or continues one.
fn in_condition(before: &str) -> bool {
    const WORDS: [&str; 12] = [
        "if", "where", "until", "unless", "goal", "expect", "when", "becomes", "and", "or", "not",
        "fn",
    ];
    before
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| WORDS.contains(&w))
}

/// Spaces, and ASCII punctuation in its full-width form, that look right
/// but are other characters.
fn look_alike(c: char) -> Option<Mistake> {
    let (name, ascii) = match c {
        '\u{3000}' => ("IDEOGRAPHIC SPACE", ' '),
        '\u{00A0}' => ("NO-BREAK SPACE", ' '),
        '\u{2002}' => ("EN SPACE", ' '),
        '\u{2003}' => ("EM SPACE", ' '),
        '\u{2009}' => ("THIN SPACE", ' '),
        '\u{200B}' => ("ZERO WIDTH SPACE", ' '),
        '\u{202F}' => ("NARROW NO-BREAK SPACE", ' '),
        '\u{FF01}'..='\u{FF5E}' => {
            let ascii = char::from_u32(u32::from(c) - 0xFEE0)?;
            ("a full-width form", ascii)
        }
        _ => return None,
    };
    Some(Mistake::LookAlike {
        found: c,
        name: name.to_string(),
        ascii,
    })
}

/// `when R.f OP …`: the record and the condition as written (with `=`
/// made `==`), and how much of `rest` the operator takes.
fn condition_trigger(before: &str, rest: &str) -> Option<(usize, Mistake)> {
    let op_len = ["==", "!=", ">=", "<=", ">", "<", "="]
        .iter()
        .find(|op| rest.starts_with(**op))?
        .len();
    let path = before.trim_start().strip_prefix("when ")?.trim();
    let (record, field) = path.split_once('.')?;
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !is_name(record) || !field.split('.').all(is_name) {
        return None;
    }
    let line = rest.lines().next().unwrap_or("");
    let line = super::comment_start(line).map_or(line, |i| &line[..i]);
    let (op, value) = line.split_at(op_len);
    let op = if op == "=" { "==" } else { op };
    let condition = format!("{path} {op} {}", value.trim());
    let m = Mistake::ConditionTrigger {
        record: record.to_string(),
        path: path.to_string(),
        condition,
    };
    Some((op_len, m))
}

/// `send email T to role` followed by a text.
fn send_to_role(before: &str, rest: &str) -> Option<Mistake> {
    if !rest.starts_with('"') {
        return None;
    }
    let words: Vec<&str> = before.split_whitespace().collect();
    let [.., send, email, template, to, role] = words.as_slice() else {
        return None;
    };
    if (*send, *email, *to, *role) != ("send", "email", "to", "role") {
        return None;
    }
    let value = rest[1..].split('"').next().unwrap_or("");
    Some(Mistake::SendToRole {
        template: template.to_string(),
        role: value.to_string(),
    })
}

/// `3 days` (the word at the error, the number before it) or `3days`
/// (both at the error): the number's length before the error position, and
/// the literal meant.
fn spaced_duration(before: &str, word: &str) -> Option<(usize, String)> {
    let digits_in_word = word.chars().take_while(char::is_ascii_digit).count();
    let (number, unit, number_len) = if digits_in_word > 0 {
        (&word[..digits_in_word], &word[digits_in_word..], 0)
    } else {
        let trimmed = before.trim_end();
        let digits = trimmed
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .count();
        if digits == 0 {
            return None;
        }
        let number = &trimmed[trimmed.len() - digits..];
        (number, word, before.len() - (trimmed.len() - digits))
    };
    let unit = unit_of(unit)?;
    Some((number_len, format!("{number}{unit}")))
}

/// The unit letter for a unit written as a word.
fn unit_of(word: &str) -> Option<&'static str> {
    Some(match word.to_lowercase().as_str() {
        "second" | "seconds" | "sec" | "secs" | "秒" => "s",
        "minute" | "minutes" | "min" | "mins" | "分" => "m",
        "hour" | "hours" | "hr" | "hrs" | "時間" => "h",
        "day" | "days" | "日" | "日間" => "d",
        "week" | "weeks" | "週" | "週間" => "w",
        "month" | "months" | "ヶ月" | "か月" | "カ月" | "ヵ月" | "ケ月" => "mo",
        "year" | "years" | "yr" | "yrs" | "年" | "年間" => "y",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, marker: &str) -> Option<Mistake> {
        let pos = text.find(marker).unwrap_or(text.len());
        recognize(text, pos).map(|(_, _, m)| m)
    }

    #[test]
    fn each_mistake_is_recognised_where_the_parser_stops() {
        assert_eq!(at("  if x.a = 1\n", "= 1"), Some(Mistake::SingleEquals));
        assert_eq!(at("given c x = { a = 1 }", "= 1"), None);
        assert_eq!(at("  if x.a then\n", "then"), Some(Mistake::ThenInStepIf));
        assert_eq!(
            at("  wait 3 days\n", "days"),
            Some(Mistake::SpacedDuration {
                written: "3 days".into(),
                literal: "3d".into()
            })
        );
        assert_eq!(
            at("  wait 4ヶ月\n", "4"),
            Some(Mistake::SpacedDuration {
                written: "4ヶ月".into(),
                literal: "4mo".into()
            })
        );
        assert_eq!(at("  wait 3 tasks\n", "tasks"), None);
        assert_eq!(
            at("if a && b", "&&"),
            Some(Mistake::SymbolOperator {
                written: "&&",
                word: "and"
            })
        );
        assert_eq!(
            at("  elsif a\n", "elsif"),
            Some(Mistake::Elsif {
                written: "elsif".into()
            })
        );
        assert_eq!(
            at("  wait\u{3000}3d", "\u{3000}"),
            Some(Mistake::LookAlike {
                found: '\u{3000}',
                name: "IDEOGRAPHIC SPACE".into(),
                ascii: ' '
            })
        );
        assert!(matches!(
            at("if a ＝ b", "＝"),
            Some(Mistake::LookAlike { ascii: '=', .. })
        ));
        assert_eq!(
            at("  send email t to role \"manager\"\n", "\""),
            Some(Mistake::SendToRole {
                template: "t".into(),
                role: "manager".into()
            })
        );
        assert_eq!(
            at("  when o.amount = 10 # big\n", "="),
            Some(Mistake::ConditionTrigger {
                record: "o".into(),
                path: "o.amount".into(),
                condition: "o.amount == 10".into()
            })
        );
    }
}
