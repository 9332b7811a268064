//! How personal information is shown to those who may not see it in full:
//! enough to tell two complainants apart, not enough to find them.

/// 13812345678 → 138****5678; shorter numbers keep their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().filter(|c| !c.is_whitespace()).collect();
    let n = chars.len();
    if n >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else if n > 2 {
        let tail: String = chars[n - 2..].iter().collect();
        format!("{}{tail}", "*".repeat(n - 2))
    } else {
        "*".repeat(n)
    }
}

/// 张三丰 → 张**; a one-character name is hidden whole.
pub fn mask_name(name: &str) -> String {
    let n = name.chars().count();
    match name.chars().next() {
        Some(first) if n > 1 => format!("{first}{}", "*".repeat(n - 1)),
        Some(_) => "*".into(),
        None => String::new(),
    }
}

/// Keeps the first third of an address, at most six characters: the
/// district, not the door.
pub fn mask_address(address: &str) -> String {
    let n = address.chars().count();
    if n == 0 {
        return String::new();
    }
    let keep = (n / 3).min(6);
    format!("{}****", address.chars().take(keep).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0578-2123456"), "057****3456");
        assert_eq!(mask_phone("12369"), "***69");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(
            mask_address("浙江省丽水市莲都区紫金街道某某路12号"),
            "浙江省丽水市****"
        );
        assert_eq!(mask_address(""), "");
    }
}
