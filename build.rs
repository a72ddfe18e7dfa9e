//! Build facts for `php --ri crmhook`, the link arguments macOS needs, and a clear stop when
//! `php-config` is missing or broken.

use std::process::Command;

/// PHP 8.1, the oldest PHP that ext-php-rs 0.16 builds for.
const MIN_PHP_VERNUM: u32 = 80100;

fn main() {
    // A PHP extension resolves the engine's symbols when PHP loads it. Linux allows that by
    // default; macOS's linker must be told, or it refuses the undefined `zend_*` symbols.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-undefined");
        println!("cargo:rustc-cdylib-link-arg=dynamic_lookup");
    }

    let git_rev = output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CRMHOOK_GIT_REV={git_rev}");

    // The same PHP that ext-php-rs builds against (it honours PHP_CONFIG too). Without a working
    // php-config the extension cannot be built for a known PHP: say so and what to install,
    // rather than build for a guessed version.
    let php_config = std::env::var("PHP_CONFIG").unwrap_or_else(|_| "php-config".into());
    let ask = |arg: &str| {
        output(&php_config, &[arg]).filter(|v| !v.is_empty()).unwrap_or_else(|| {
            fail(&format!(
                "crmhook: `{php_config} {arg}` did not answer, so the PHP version to build for is unknown.\n\
                 Install PHP's development files (Debian/Ubuntu: `apt-get install php8.2-dev`, or the\n\
                 php-dev package for your PHP version; macOS: `brew install php`), or point PHP_CONFIG\n\
                 at a working php-config."
            ))
        })
    };
    let vernum: u32 = ask("--vernum").parse().unwrap_or_else(|_| {
        fail(&format!(
            "crmhook: `{php_config} --vernum` did not print a version number; reinstall PHP's development files (e.g. php8.2-dev)"
        ))
    });
    if vernum < MIN_PHP_VERNUM {
        fail(&format!("crmhook: PHP {vernum} is too old; crmhook needs PHP 8.1 or later (php-config: {php_config})"));
    }
    println!("cargo:rustc-env=CRMHOOK_PHP_API={}", ask("--phpapi"));
    println!("cargo:rustc-env=CRMHOOK_PHP_VERSION={}", ask("--version"));
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

/// Stops the build with `message` as the last thing printed (no backtrace to scroll past).
fn fail(message: &str) -> ! {
    eprintln!("\n{message}\n");
    std::process::exit(1)
}
