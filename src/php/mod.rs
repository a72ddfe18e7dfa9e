//! The binding: the only module that knows ext-php-rs and the Zend engine, and the only one
//! allowed `unsafe` (each block says why it holds). It is split by job:
//! - `input` — PHP arrays → the core's types, read in place with the engine's iteration;
//! - `output` — core types → PHP arrays, pre-sized, written with the engine's calls;
//! - `interned` — the fixed keys and words, interned at module start;
//! - `exceptions` — how failures become `CrmHook\…` exceptions, and their registration;
//! - `ini` — the `crmhook.*` settings;
//! - `tables` — the CRM table and the username formats, as PHP arrays;
//! - `functions` — the exported `crmhook_*` functions;
//! - `lane` — the fast lane's request start and end hooks (RINIT/RSHUTDOWN);
//! - `allocator` — Rust's global allocator (mimalloc, in release builds).
//!
//! This file starts the module: MINIT, `phpinfo()` and the function table.
#![allow(unsafe_code)]

// The debug build keeps the system allocator (see the module); its tests still run.
#[cfg(any(not(debug_assertions), test))]
mod allocator;
mod args;
mod exceptions;
mod functions;
mod ini;
mod input;
mod interned;
mod lane;
mod output;
mod tables;

use ext_php_rs::prelude::*;
use ext_php_rs::zend::{IniEntryDef, ModuleEntry};
use ext_php_rs::{info_table_end, info_table_header, info_table_row, info_table_start};

/// MINIT: the INI settings, the exception classes and the interned keys of our results.
extern "C" fn startup(_ty: i32, module_number: i32) -> i32 {
    const SUCCESS: i32 = 0;
    const FAILURE: i32 = -1;
    IniEntryDef::register(ini::INI_ENTRIES.as_slice(), module_number);
    if !exceptions::register_exceptions() {
        return FAILURE;
    }
    interned::intern_fixed_strings();
    output::make_shapes();
    SUCCESS
}

extern "C" fn module_info(_module: *mut ModuleEntry) {
    info_table_start!();
    info_table_row!("crmhook support", "enabled");
    info_table_row!("version", env!("CARGO_PKG_VERSION"));
    info_table_row!("git revision", env!("CRMHOOK_GIT_REV"));
    info_table_row!("built for PHP", env!("CRMHOOK_PHP_VERSION"));
    info_table_row!("PHP API", env!("CRMHOOK_PHP_API"));
    info_table_row!("compiler", env!("CRMHOOK_RUSTC"));
    info_table_row!("build profile", env!("CRMHOOK_PROFILE"));
    let crms: Vec<&str> = crate::crm::info::CRMS.iter().map(|c| c.name).collect();
    info_table_row!("CRMs", crms.join(", "));
    info_table_end!();
    info_table_start!();
    info_table_header!("Directive", "Local Value", "Master Value");
    for name in ini::INI_NAMES {
        let (local, master) = ini::ini_value(name).unwrap_or_default();
        info_table_row!(name, local, master);
    }
    info_table_end!();
}

#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    functions::register(
        module
            .startup_function(startup)
            .info_function(module_info)
            .request_startup_function(lane::request_startup)
            .request_shutdown_function(lane::request_shutdown),
    )
}
