//! "Did you mean …?": edit distance over Unicode characters, so that
//! `"失注 "` finds `"失注"` and `emial` finds `email`.

/// Edit distance counted in characters, not bytes, where swapping two
/// neighbouring characters (`sned` → `send`) counts as one edit
/// (optimal string alignment distance).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// The candidate closest to `wrong`, if it is close enough to be a typo:
/// at most a third of the longer word's characters differ (and at least one
/// may always differ). Case and surrounding spaces count as near misses.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_len = wrong.chars().count();
    let normalized = wrong.trim().to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .map(|c| {
            let d = if c.to_lowercase() == normalized {
                0
            } else {
                distance(wrong, c)
            };
            (d, c)
        })
        .filter(|&(d, c)| {
            let longest = wrong_len.max(c.chars().count());
            d <= (longest / 3).max(1)
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(distance("失注 ", "失注"), 1);
        assert_eq!(distance("受注", "失注"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("sned", "send"), 1);
    }

    #[test]
    fn suggests_only_near_misses() {
        let fields = ["name", "email", "score", "owner"];
        assert_eq!(closest("emial", fields), Some("email"));
        assert_eq!(closest("Email", fields), Some("email"));
        assert_eq!(closest("prefecture", fields), None);
        assert_eq!(closest("失注 ", ["見込み", "失注", "受注"]), Some("失注"));
        assert_eq!(closest("lost", ["見込み", "失注", "受注"]), None);
    }
}
