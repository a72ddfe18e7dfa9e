//! # crmhook
//!
//! The core of a PHP extension that lets a CRM (ActiveCampaign, ConvertKit/Kit, FluentCRM,
//! FunnelKit Automations, Infusionsoft/Keap) create and update WordPress users by calling the
//! site's URL, wire-compatible with the `?wpf_action=add|update|update_tags&access_key=…`
//! URLs that CRM automations already use.
//!
//! This crate is the pure part: it parses each CRM's webhook wire format, checks the access
//! key in constant time and turns a CRM contact into a *user plan* — what WordPress should
//! create or change. It deliberately does **not** touch WordPress: the plugin executes the
//! plan with WordPress's own APIs. Nothing here knows about the PHP engine except [`php`],
//! the one binding module and the only one allowed `unsafe` (`#![deny(unsafe_code)]` below), so
//! `cargo test` exercises all logic without PHP.
//!
//! ## Module map
//! - [`webhook`] — a raw HTTP request → [`webhook::Webhook`] (action, contact id, parameters).
//! - [`access`] — the access key check, key and password generation.
//! - [`form`] — `application/x-www-form-urlencoded` and query strings, borrowing from the input.
//! - [`text`] — the scalar JSON values and parameter checks that every wire format shares.
//! - [`crm`] — one file per CRM: its webhook payload format and its API client, side by side;
//!   [`crm::api`] holds what the clients share, [`crm::info`] the table of facts about each CRM
//!   (names, meta slugs, credentials, API hosts, rate limits) that the plugin reads.
//! - [`contact`] — the normalized CRM contact.
//! - [`login`] — WordPress-safe usernames (what `sanitize_user(…, true)` keeps unchanged).
//! - [`plan`] — contact + options + existing user → [`plan::UserPlan`], with the role policy.
//! - [`error`] — every failure, each mapped to one HTTP status.
//! - [`guard`] — turns a panic into an error so it never reaches PHP.
//! - [`http`] — the transport for CRM API calls: a shared ureq agent, timeouts, one retry.
//! - [`lane`] — the fast lane's test of a raw query string, made before any PHP runs.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod access;
pub mod contact;
pub mod crm;
pub mod error;
pub mod form;
pub mod guard;
pub mod http;
pub mod lane;
pub mod login;
pub mod plan;
pub mod text;
pub mod webhook;

#[doc(hidden)]
pub mod php;
