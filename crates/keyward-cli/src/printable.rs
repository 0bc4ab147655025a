//! Text from a key store, made safe to print: a key ring is data anyone with write access to
//! the store controls, and a terminal obeys escape sequences.

/// `text` with every control character (C0 and C1: ANSI escapes, `\r`, `\n`, BEL, …) and every
/// bidirectional-override character replaced by a space, so it prints as one inert line.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if is_unsafe(c) { ' ' } else { c })
        .collect()
}

/// Whether `c` can move the cursor, recolour, ring, or reorder what a terminal shows.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_become_spaces() {
        assert_eq!(
            printable("a\u{1b}[31mX\r\n\u{7}\u{9b}1m\u{202e}b\tc"),
            "a [31mX    1m b c"
        );
        assert_eq!(printable("Grüße 🔑"), "Grüße 🔑");
    }
}
