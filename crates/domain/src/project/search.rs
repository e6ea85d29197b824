//! Search terms for finding projects by any substring of their title or logline, in any script.
//!
//! Every run of letters and digits is lower-cased and indexed as all of its suffixes (each cut to
//! [`MAX_TERM_CHARS`]); a query word then matches when it is a *prefix* of some indexed suffix,
//! which a B-tree index answers with one range scan (`term >= q AND term < q || U+10FFFF`). This
//! finds two-character Chinese words such as 少女 in 古装少女的复仇, which trigram indexes (three
//! characters at least) cannot, and works the same on SQLite and PostgreSQL.

use std::collections::BTreeSet;

/// Longest indexed term. Query words longer than this match on their first characters.
pub const MAX_TERM_CHARS: usize = 16;

/// The character that sorts after every other, closing a prefix range.
pub const RANGE_END: char = '\u{10FFFF}';

fn runs(text: &str) -> impl Iterator<Item = Vec<char>> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(|run| run.chars().flat_map(char::to_lowercase).collect::<Vec<char>>())
}

/// The terms that index `texts`.
pub fn index_terms<'a>(texts: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for text in texts {
        for run in runs(text) {
            for start in 0..run.len() {
                let end = (start + MAX_TERM_CHARS).min(run.len());
                terms.insert(run[start..end].iter().collect());
            }
        }
    }
    terms
}

/// The words of a query; a project matches when every word is a prefix of one of its terms.
pub fn query_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> =
        runs(query).map(|run| run.into_iter().take(MAX_TERM_CHARS).collect::<String>()).collect();
    words.sort();
    words.dedup();
    words.truncate(8);
    words
}

/// Whether `query` would match `texts` (the rule the database applies through the index).
pub fn matches<'a>(texts: impl IntoIterator<Item = &'a str>, query: &str) -> bool {
    let terms = index_terms(texts);
    query_words(query).iter().all(|word| terms.range(word.clone()..).next().is_some_and(|t| t.starts_with(word)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_substrings_of_any_length_match() {
        let title = "古装少女的复仇";
        for query in ["少女", "少", "复仇", "古装少女的复仇", "女的复"] {
            assert!(matches([title], query), "{query}");
        }
        assert!(!matches([title], "少年"));
    }

    #[test]
    fn english_substrings_match_ignoring_case() {
        let texts = ["Neon Rain", "A courier's REVENGE in the undercity"];
        for query in ["neon", "RAIN", "venge", "under", "eon ain", "courier"] {
            assert!(matches(texts, query), "{query}");
        }
        assert!(!matches(texts, "sunshine"));
        assert!(!matches(texts, "neon sunshine"));
    }

    #[test]
    fn punctuation_only_queries_have_no_words() {
        assert!(query_words("，。!?").is_empty());
        assert_eq!(query_words("Rain rain"), vec!["rain"]);
    }

    #[test]
    fn long_runs_are_cut() {
        let long = "一".repeat(40);
        assert!(index_terms([long.as_str()]).iter().all(|t| t.chars().count() <= MAX_TERM_CHARS));
        assert!(matches([long.as_str()], &"一".repeat(30)));
    }
}
