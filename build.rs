//! Build facts for `php --ri crmhook`, and the link arguments macOS needs.

use std::process::Command;

fn main() {
    // A PHP extension resolves the engine's symbols when PHP loads it. Linux allows that by
    // default; macOS's linker must be told, or it refuses the undefined `zend_*` symbols.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-undefined");
        println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
    }

    let git_rev = output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CRMHOOK_GIT_REV={git_rev}");

    // The same PHP that ext-php-rs builds against (it honours PHP_CONFIG too).
    let php_config = std::env::var("PHP_CONFIG").unwrap_or_else(|_| "php-config".into());
    let api = output(&php_config, &["--phpapi"]).unwrap_or_else(|| "unknown".into());
    let php_version = output(&php_config, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CRMHOOK_PHP_API={api}");
    println!("cargo:rustc-env=CRMHOOK_PHP_VERSION={php_version}");
    // PHP 8.2 stores packed arrays as bare zvals (`arPacked`); earlier versions use buckets. The
    // binding walks arrays itself, so it must know which.
    println!("cargo::rustc-check-cfg=cfg(php_packed_zvals)");
    let vernum: u32 = output(&php_config, &["--vernum"]).and_then(|v| v.parse().ok()).unwrap_or(0);
    if vernum >= 80200 {
        println!("cargo:rustc-cfg=php_packed_zvals");
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CRMHOOK_RUSTC={rustc_version}");
    println!("cargo:rustc-env=CRMHOOK_PROFILE={}", std::env::var("PROFILE").unwrap_or_default());

    println!("cargo:rerun-if-env-changed=PHP_CONFIG");
    // Rebuild when HEAD moves: HEAD itself, and the branch file it points at.
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Some(branch) = head.strip_prefix("ref: ").map(|b| format!(".git/{}", b.trim())) {
            if std::path::Path::new(&branch).exists() {
                println!("cargo:rerun-if-changed={branch}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
