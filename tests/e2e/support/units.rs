//! The unit codes the tests use, named as the seeded unit list names them
//! (migrations' 0002_seed_units): Lishui city and its nine counties.
//! `&["*"]` stands for all units and is written as it is.

/// 丽水市, the city, parent of every other unit.
pub const LISHUI_CITY: &str = "331100";
/// 莲都区: the unit most tests work in.
pub const LIANDU: &str = "331102";
/// 青田县: the other unit, whose users must not see Liandu's.
pub const QINGTIAN: &str = "331121";
/// 缙云县.
pub const JINYUN: &str = "331122";
/// 遂昌县.
pub const SUICHANG: &str = "331123";
/// 松阳县.
pub const SONGYANG: &str = "331124";
/// 云和县.
pub const YUNHE: &str = "331125";
/// 庆元县.
pub const QINGYUAN: &str = "331126";
/// 景宁畲族自治县.
pub const JINGNING: &str = "331127";
/// 龙泉市, a county-level city.
pub const LONGQUAN: &str = "331181";
