//! A 7 MB photo through the SDK over the link of a phone in the mountains
//! (50 ms each way, 2 MiB/s) that resets every 1/r MiB, with the app killed
//! once midway and started again: it arrives whole, and the phone sends
//! little more than the photo.

use std::path::Path;

use ducha::domain::access::Role;

use crate::support::evidence::sha256;
use crate::support::units::LIANDU;
use crate::support::{self, lossy, photos};

/// The client process of the test below, which starts it.
#[tokio::test]
#[ignore = "the client process of the lossy-link test, started by it"]
async fn upload_client() {
    lossy::client_main().await;
}

fn client() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "lossy_link::upload_client",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    c
}

#[tokio::test]
async fn a_photo_crosses_a_resetting_link_at_little_more_than_its_size() {
    let srv = support::spawn().await;
    let (_, user) = srv.user(Role::Inspector, &[LIANDU]).await;
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let base = std::fs::read(lossy::photo_27mp(folder)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (n, (rate, at_most, at_least_resets)) in
        [(0.15, 1.1, 1), (0.6, 1.3, 4)].into_iter().enumerate()
    {
        // Other bytes for each run, so that each is uploaded anew.
        let photo = dir.path().join(format!("IMG_{n}.jpg"));
        let bytes = photos::unique(&base, n as u64);
        std::fs::write(&photo, &bytes).unwrap();
        let run = lossy::upload(
            &srv.url,
            &user,
            support::users::PASSWORD,
            &photo,
            lossy::fixed_points(rate, 16 * lossy::MIB),
            Some(bytes.len() as u64 * 2 / 5),
            client,
        )
        .await;
        println!(
            "r = {rate}: {} resets, {} of {} bytes sent, {:.3} times, in {:.1?}",
            run.resets,
            run.client_bytes,
            run.photo_bytes,
            run.ratio(),
            run.elapsed
        );
        assert_eq!(run.sha256, sha256(&bytes), "r = {rate}");
        assert_eq!(
            run.resets, run.points_passed,
            "r = {rate}: a reset per point"
        );
        assert!(run.resets >= at_least_resets, "r = {rate}: {run:?}");
        assert!(
            run.ratio() <= at_most,
            "r = {rate}: sent {:.3} times the photo",
            run.ratio()
        );
    }
}
