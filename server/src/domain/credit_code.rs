//! The unified social credit code (统一社会信用代码) of GB 32100-2015: 18
//! characters, the last one a check character over the first 17.

/// The 31 characters the code may use (no I, O, Z, S, V), in value order.
const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn value(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// Checks a code; the error says what is wrong, for a field violation.
pub fn validate(code: &str) -> Result<(), String> {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 18 {
        return Err(format!("must be 18 characters, got {}", chars.len()));
    }
    let mut values = [0u32; 18];
    for (i, c) in chars.iter().enumerate() {
        values[i] = value(*c).ok_or_else(|| {
            format!(
                "character {} ('{c}') is not allowed in a credit code",
                i + 1
            )
        })?;
    }
    if !chars[2..8].iter().all(char::is_ascii_digit) {
        return Err(
            "characters 3 to 8 must be the digits of an administrative division code".into(),
        );
    }
    let sum: u32 = WEIGHTS.iter().zip(&values).map(|(w, v)| w * v).sum();
    let expected = (31 - sum % 31) % 31;
    if values[17] != expected {
        let want = ALPHABET.as_bytes()[expected as usize] as char;
        return Err(format!(
            "check character is '{}', expected '{want}'",
            chars[17]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on real business licences.
        for code in [
            "91350100M000100Y43",
            "9144030071526726XG",
            "914403001922038216",
            "91330100799655058B",
        ] {
            assert_eq!(validate(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn refuses_wrong_check_character_length_and_letters() {
        assert!(
            validate("91330100799655058C")
                .unwrap_err()
                .contains("check character")
        );
        assert!(
            validate("9133000014291135")
                .unwrap_err()
                .contains("18 characters")
        );
        assert!(
            validate("9133010079965505IB")
                .unwrap_err()
                .contains("not allowed")
        );
    }
}
