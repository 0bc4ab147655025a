//! `keyward keys timeline` on prepared rings: snapshots of the terminal picture and the JSON,
//! and the HTML page rendered by headless Chromium, compared with a reference screenshot.
#![allow(clippy::unwrap_used)] // Tests unwrap: a panic is a failure with its cause.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{keyward, ok, write_fixture_ring, FixtureKey};

const OLD: &str = "0a1b2c3d-0000-4000-8000-000000000001";
const CURRENT: &str = "1b2c3d4e-0000-4000-8000-000000000002";
const NEXT: &str = "2c3d4e5f-0000-4000-8000-000000000003";
const SPARE: &str = "3d4e5f60-0000-4000-8000-000000000004";
const REPLACEMENT: &str = "4e5f6071-0000-4000-8000-000000000005";

/// An expired key, the default key and its successor (written early), at 2026-03-20.
fn healthy_keys() -> Vec<FixtureKey<'static>> {
    vec![
        FixtureKey {
            id: OLD,
            created: "2025-10-01T00:00:00Z",
            activation: "2025-10-01T00:00:00Z",
            expiration: "2025-12-30T00:00:00Z",
        },
        FixtureKey {
            id: CURRENT,
            created: "2025-12-27T00:00:00Z",
            activation: "2025-12-30T00:00:00Z",
            expiration: "2026-03-30T00:00:00Z",
        },
        FixtureKey {
            id: NEXT,
            created: "2026-03-18T00:00:00Z",
            activation: "2026-03-30T00:00:00Z",
            expiration: "2026-06-28T00:00:00Z",
        },
    ]
}
const HEALTHY_NOW: &str = "2026-03-20T00:00:00Z";

/// `keyward --now NOW keys timeline ARGS…` on the ring in `dir`, its location redacted.
fn timeline(dir: &Path, now: &str, args: &[&str]) -> String {
    let mut all = vec!["--now", now, "keys", "timeline"];
    all.extend_from_slice(args);
    let output = keyward(dir, "app", &all, None);
    ok(&output).replace(&dir.display().to_string(), "[DIR]")
}

fn json(dir: &Path, now: &str) -> (String, serde_json::Value) {
    let text = timeline(dir, now, &["--json"]);
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

fn picture(dir: &Path, now: &str) -> String {
    timeline(dir, now, &["--width", "100", "--color", "never"])
}

/// The picture's row for a key.
fn row<'a>(picture: &'a str, id: &str) -> &'a str {
    picture
        .lines()
        .find(|line| line.starts_with(&format!(" {}", &id[..8])))
        .unwrap_or_else(|| panic!("no row for {id} in\n{picture}"))
}

#[test]
fn healthy_ring() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    let text = picture(dir.path(), HEALTHY_NOW);
    insta::assert_snapshot!("healthy_terminal", text);
    let (raw, value) = json(dir.path(), HEALTHY_NOW);
    insta::assert_snapshot!("healthy_json", raw);

    assert!(row(&text, CURRENT).ends_with("default"));
    assert!(row(&text, CURRENT).contains('▓'));
    assert!(row(&text, NEXT).ends_with("pending"));
    assert!(row(&text, NEXT).contains('░'));
    assert!(row(&text, OLD).ends_with("expired"));
    assert!(text.contains("next rotation: 2026-03-29T23:55:00Z, 1b2c3d4e → 2c3d4e5f"));
    assert_eq!(value["default_key"], CURRENT);
    assert_eq!(value["next_rotation"]["to"], NEXT);
    assert_eq!(value["successor"]["state"], "written");
    assert_eq!(value["successor"]["due"], "2026-03-28T00:00:00Z");
    assert_eq!(value["keys"].as_array().unwrap().len(), 3);
    assert!(!text.contains('\u{1b}'), "no colour when asked for none");
}

#[test]
fn revoked_default_and_its_replacement() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(
        dir.path(),
        &[
            FixtureKey {
                id: CURRENT,
                created: "2026-01-01T00:00:00Z",
                activation: "2026-01-01T00:00:00Z",
                expiration: "2026-04-01T00:00:00Z",
            },
            FixtureKey {
                id: REPLACEMENT,
                created: "2026-02-10T00:00:00Z",
                activation: "2026-02-10T00:00:00Z",
                expiration: "2026-05-11T00:00:00Z",
            },
        ],
        &[(CURRENT, "2026-02-10T00:00:00Z")],
    );
    let now = "2026-02-15T00:00:00Z";
    let text = picture(dir.path(), now);
    insta::assert_snapshot!("revoked_terminal", text);
    let (raw, value) = json(dir.path(), now);
    insta::assert_snapshot!("revoked_json", raw);

    let revoked = row(&text, CURRENT);
    assert!(revoked.contains('╳') && revoked.ends_with("✕ revoked"));
    assert!(!revoked.contains('█') && !revoked.contains('▓'));
    assert!(row(&text, REPLACEMENT).ends_with("default"));
    assert_eq!(value["default_key"], REPLACEMENT);
    assert_eq!(value["keys"][0]["revoked"], true);
    assert_eq!(value["keys"][0]["status"], "revoked");
    // The revoked key was never the default: the ring had none until its replacement.
    assert!(value["default_periods"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["key"] != CURRENT));
    assert_eq!(value["successor"]["state"], "missing");
}

#[test]
fn successor_missing_inside_the_propagation_window() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(
        dir.path(),
        &[
            FixtureKey {
                id: OLD,
                created: "2025-10-03T00:00:00Z",
                activation: "2025-10-03T00:00:00Z",
                expiration: "2026-01-01T00:00:00Z",
            },
            FixtureKey {
                id: CURRENT,
                created: "2025-12-29T00:00:00Z",
                activation: "2026-01-01T00:00:00Z",
                expiration: "2026-04-01T00:00:00Z",
            },
        ],
        &[],
    );
    let now = "2026-03-31T00:00:00Z";
    let text = picture(dir.path(), now);
    insta::assert_snapshot!("missing_successor_terminal", text);
    let (raw, value) = json(dir.path(), now);
    insta::assert_snapshot!("missing_successor_json", raw);

    assert!(text.contains("successor must be written by 2026-03-30T00:00:00Z: OVERDUE"));
    assert!(text.contains("next rotation: 2026-04-01T00:00:00Z, 1b2c3d4e → none"));
    assert_eq!(value["successor"]["state"], "overdue");
    assert!(value["successor"]["key"].is_null());
    assert!(value["next_rotation"]["to"].is_null());
}

#[test]
fn colour_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture_ring(dir.path(), &healthy_keys(), &[]);
    let coloured = timeline(dir.path(), HEALTHY_NOW, &["--color", "always"]);
    assert!(coloured.contains("\u{1b}[1;92m▓"));
    // auto: stdout is a pipe here.
    let auto = timeline(dir.path(), HEALTHY_NOW, &["--width", "100"]);
    assert!(!auto.contains('\u{1b}'));
    assert_eq!(auto, picture(dir.path(), HEALTHY_NOW));
}

#[test]
fn empty_ring_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    let text = picture(dir.path(), HEALTHY_NOW);
    assert!(text.contains("no keys"), "{text}");
    let (_, value) = json(dir.path(), HEALTHY_NOW);
    assert!(value["default_key"].is_null());
    assert_eq!(value["keys"].as_array().unwrap().len(), 0);
}

/// The HTML page names nothing outside itself and escapes store text (here: the ring's
/// location, a folder whose name is markup).
#[test]
fn html_is_self_contained_and_escaped() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("<b>ring & \"keys\"</b>");
    write_fixture_ring(&dir, &healthy_keys(), &[]);
    let out = parent.path().join("out.html");
    let output = keyward(
        &dir,
        "app",
        &[
            "--now",
            HEALTHY_NOW,
            "keys",
            "timeline",
            "--json",
            "--html",
            out.to_str().unwrap(),
        ],
        None,
    );
    ok(&output);
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.contains("&lt;b&gt;ring &amp; &quot;keys&quot;&lt;/b&gt;"));
    assert!(!page.contains("<b>"));
    for forbidden in [
        "<script", "src=", "href=", "@import", "url(", "<link", "https:",
    ] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    assert_eq!(
        page.matches("http:").count(),
        page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "only the SVG namespace names a URL"
    );
    for id in [OLD, CURRENT, NEXT] {
        assert!(page.contains(id), "{id} in a tooltip");
    }
}

/// Fill colours the page uses for each kind of bar (see src/commands/timeline/html.rs).
const BAR_COLOURS: [(&str, [u8; 3]); 5] = [
    ("pending", [0x90, 0xca, 0xf9]),
    ("active", [0x66, 0xbb, 0x6a]),
    ("default", [0x1b, 0x5e, 0x20]),
    ("revoked", [0xd3, 0x2f, 0x2f]),
    ("key", [0x1b, 0x5e, 0x20]),
];

/// A rectangle of the page's SVG with its class.
#[derive(Debug)]
struct Rect {
    class: String,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

/// The bars and default-key stretches the page draws (`<rect class="bar …"` and
/// `<rect class="band …"`).
fn rects(page: &str) -> Vec<Rect> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].to_owned())
    };
    page.split("<rect ")
        .skip(1)
        .filter_map(|rest| {
            let tag = format!(" {}", &rest[..rest.find('>')?]);
            let class = attribute(&tag, "class")?;
            if !(class.starts_with("bar ") || class.starts_with("band ")) {
                return None;
            }
            let number = |name| attribute(&tag, name)?.parse().ok();
            Some(Rect {
                class,
                x: number("x")?,
                y: number("y")?,
                width: number("width")?,
                height: number("height")?,
            })
        })
        .collect()
}

/// An RGB image.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let mut decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buffer).unwrap();
        let channels = info.color_type.samples();
        let rgb = buffer[..info.buffer_size()]
            .chunks(channels)
            .flat_map(|px| match channels {
                1 | 2 => [px[0], px[0], px[0]],
                _ => [px[0], px[1], px[2]],
            })
            .collect();
        Image {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * self.width + x);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tolerance)
}

/// Chromium, or `None` when it is not installed.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KEYWARD_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Headless Chromium's screenshot of `page` in a 1200×600 window.
fn screenshot(chromium: &Path, page: &Path, shot: &Path, profile: &Path) {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--no-first-run",
            "--window-size=1200,600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(shot.exists(), "chromium wrote no screenshot");
}

/// The page opens in headless Chromium and the screenshot shows the bars where the page draws
/// them, and matches the checked-in reference (`KEYWARD_UPDATE_REFERENCE=1` writes it).
#[test]
fn html_screenshot_shows_the_bars() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed (CI must install it: apt-get install chromium)"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("keys");
    let mut keys = healthy_keys();
    keys.push(FixtureKey {
        id: SPARE,
        created: "2026-03-17T00:00:00Z",
        activation: "2026-03-30T00:00:00Z",
        expiration: "2026-06-28T00:00:00Z",
    });
    write_fixture_ring(&ring, &keys, &[(SPARE, "2026-03-19T00:00:00Z")]);
    let page = dir.path().join("timeline.html");
    let output = keyward(
        &ring,
        "app",
        &[
            "--now",
            HEALTHY_NOW,
            "keys",
            "timeline",
            "--json",
            "--html",
            page.to_str().unwrap(),
        ],
        None,
    );
    let value: serde_json::Value = serde_json::from_str(&ok(&output)).unwrap();
    assert_eq!(value["keys"].as_array().unwrap().len(), 4);
    let html = std::fs::read_to_string(&page).unwrap();

    let shot = dir.path().join("shot.png");
    screenshot(&chromium, &page, &shot, &dir.path().join("profile"));
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("keyward-timeline.png");
    std::fs::copy(&shot, &kept).unwrap();
    eprintln!("screenshot: {}", kept.display());
    let image = Image::read(&shot);
    assert_eq!((image.width, image.height), (1200, 600));

    // Every bar the page draws shows in its colour (expired bars are drawn faded).
    let rects = rects(&html);
    for kind in ["pending", "active", "default", "revoked", "key"] {
        assert!(
            rects.iter().any(|r| r.class.split(' ').any(|c| c == kind)),
            "the page draws no {kind} bar"
        );
    }
    let mut checked = 0;
    for rect in rects.iter().filter(|r| !r.class.contains("expired")) {
        let Some((_, colour)) = BAR_COLOURS
            .iter()
            .find(|(kind, _)| rect.class.split(' ').nth(1) == Some(kind))
        else {
            continue;
        };
        let (x0, y0) = (rect.x.ceil() as usize + 1, rect.y.ceil() as usize + 1);
        let (x1, y1) = (
            (rect.x + rect.width).floor() as usize - 1,
            (rect.y + rect.height).floor() as usize - 1,
        );
        if x1 <= x0 || y1 > image.height {
            continue;
        }
        let total = (x1 - x0) * (y1 - y0);
        let matching = (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| close(image.pixel(x, y), *colour, 12))
            .count();
        assert!(
            matching * 10 >= total * 6,
            "{rect:?}: only {matching} of {total} pixels are {colour:?} (see {})",
            kept.display()
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} bars checked");

    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/timeline.png");
    if std::env::var_os("KEYWARD_UPDATE_REFERENCE").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
        std::fs::copy(&shot, &reference).unwrap();
        eprintln!("wrote the reference {}", reference.display());
        return;
    }
    assert!(
        reference.exists(),
        "no reference image at {}: run with KEYWARD_UPDATE_REFERENCE=1 to write it",
        reference.display()
    );
    let expected = Image::read(&reference);
    assert_eq!(
        (expected.width, expected.height),
        (image.width, image.height)
    );
    let differing = (0..image.height)
        .flat_map(|y| (0..image.width).map(move |x| (x, y)))
        .filter(|&(x, y)| !close(image.pixel(x, y), expected.pixel(x, y), 48))
        .count();
    let fraction = differing as f64 / (image.width * image.height) as f64;
    assert!(
        fraction < 0.02,
        "{:.2}% of pixels differ from the reference (see {})",
        fraction * 100.0,
        kept.display()
    );
}
