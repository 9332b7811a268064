//! Units: the seeded programme targets, and admin edits.

use ducha::domain::access::Role;
use ducha_sdk::pb;
use tonic::Code;

use crate::support;
use crate::support::checks::{T0, create, create_with, site_check};
use crate::support::refusals::violated_fields;
use crate::support::units::{
    JINGNING, JINYUN, LIANDU, LISHUI_CITY, LONGQUAN, QINGTIAN, QINGYUAN, SONGYANG, SUICHANG, YUNHE,
};

#[tokio::test]
async fn seeded_units_are_the_programme_targets() {
    let srv = support::spawn().await;
    let viewer = srv.client(Role::UnitLiaison, &[LIANDU]).await;
    let units = viewer
        .units()
        .list_units(pb::ListUnitsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .units;
    let code = |c: &str| {
        units
            .iter()
            .find(|u| u.code == c)
            .unwrap_or_else(|| panic!("{c} missing"))
    };
    assert_eq!(code(LISHUI_CITY).name, "丽水市");
    assert_eq!(code(LISHUI_CITY).kind, pb::UnitKind::City as i32);
    let counties: Vec<_> = units
        .iter()
        .filter(|u| u.kind == pb::UnitKind::County as i32)
        .map(|u| u.code.as_str())
        .collect();
    assert_eq!(
        counties,
        [
            LIANDU, QINGTIAN, JINYUN, SUICHANG, SONGYANG, YUNHE, QINGYUAN, JINGNING, LONGQUAN
        ]
    );
    assert_eq!(code(JINGNING).name, "景宁畲族自治县");
    assert_eq!(
        code("lishui-development-zone").kind,
        pb::UnitKind::DevelopmentZone as i32
    );
    assert_eq!(code("city-environmental-protection").name, "市环保局");
    let departments = units
        .iter()
        .filter(|u| u.kind == pb::UnitKind::Department as i32)
        .count();
    assert_eq!(departments, 36);
    assert!(
        units
            .iter()
            .all(|u| u.active && (u.code == LISHUI_CITY || u.parent_code == LISHUI_CITY))
    );

    let one = viewer
        .units()
        .get_unit(pb::GetUnitRequest {
            code: LONGQUAN.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert_eq!(one.name, "龙泉市");
    let e = viewer
        .units()
        .get_unit(pb::GetUnitRequest {
            code: "999999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn admins_create_rename_and_deactivate_units() {
    let srv = support::spawn().await;
    let admin = srv.client(Role::Admin, &["*"]).await;
    let u = admin
        .units()
        .create_unit(pb::CreateUnitRequest {
            code: "city-ecology-environment".into(),
            name: "市生态环境局".into(),
            kind: pb::UnitKind::Department as i32,
            parent_code: LISHUI_CITY.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert!(u.active);
    let e = admin
        .units()
        .create_unit(pb::CreateUnitRequest {
            code: "city-ecology-environment".into(),
            name: "重复".into(),
            kind: pb::UnitKind::Department as i32,
            parent_code: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let e = admin
        .units()
        .create_unit(pb::CreateUnitRequest {
            code: "Bad Code!".into(),
            name: String::new(),
            kind: 0,
            parent_code: "nowhere".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["code", "name", "kind", "parent_code"]);

    let renamed = admin
        .units()
        .rename_unit(pb::RenameUnitRequest {
            code: "city-environmental-protection".into(),
            name: "市生态环境局丽水分局".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert_eq!(renamed.name, "市生态环境局丽水分局");

    let gone = admin
        .units()
        .deactivate_unit(pb::DeactivateUnitRequest { code: YUNHE.into() })
        .await
        .unwrap()
        .into_inner()
        .unit
        .unwrap();
    assert!(!gone.active);
    let active = admin
        .units()
        .list_units(pb::ListUnitsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .units;
    assert!(active.iter().all(|u| u.code != YUNHE));
    let all = admin
        .units()
        .list_units(pb::ListUnitsRequest {
            include_inactive: true,
            kind: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .units;
    assert!(all.iter().any(|u| u.code == YUNHE && !u.active));

    // A deactivated unit takes no new check records.
    let inspector = srv.client(Role::Inspector, &[YUNHE]).await;
    let e = create_with(&inspector, create(site_check(YUNHE, T0)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
}

#[tokio::test]
async fn only_admins_edit_units() {
    let srv = support::spawn().await;
    for role in [
        Role::Inspector,
        Role::Coordinator,
        Role::Supervisor,
        Role::Viewer,
    ] {
        let c = srv.client(role, &["*"]).await;
        let e = c
            .units()
            .rename_unit(pb::RenameUnitRequest {
                code: LIANDU.into(),
                name: "x".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{role}");
        let e = c
            .units()
            .deactivate_unit(pb::DeactivateUnitRequest {
                code: LIANDU.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{role}");
    }
    let anon = srv.anonymous().await;
    let e = anon
        .units()
        .list_units(pb::ListUnitsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}
