//! The extension's reference tables → PHP arrays: the CRM table (`crate::crm::info`) and the
//! username formats (`crate::login`). Built once per call with ext-php-rs's safe array API: they are
//! small and read once per request, so none of `output`'s pre-sizing and interning is needed.

use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::types::ZendHashTable;

use super::exceptions::Failure;
use crate::crm::info::{CrmInfo, CRMS};
use crate::login::UsernameFormat;

/// `$array[$key] = $value`; inserting a plain value only fails when the engine is out of memory.
fn put<V: IntoZval>(array: &mut ZendHashTable, key: &str, value: V) -> Result<(), Failure> {
    array.insert(key, value).map_err(|e| Failure::Value(format!("could not build the table ({key}): {e}")))
}

/// One CRM: `slug`, `name`, `label`, `meta_slug`, `default_api_url` (null where the API is
/// per account or site), `api_url_example`, `credentials` (key → `label`, `secret`,
/// `required`), `tags_as` (`ids` | `names`), `automation_rules`, `contact_id_pair` (null or the
/// name/value pair carrying the contact id), `rate_limit` (calls per second), `wordpress`.
fn crm_array(info: &CrmInfo) -> Result<ZBox<ZendHashTable>, Failure> {
    let mut credentials = ZendHashTable::new();
    for c in info.credentials {
        let mut field = ZendHashTable::new();
        put(&mut field, "label", c.label)?;
        put(&mut field, "secret", c.secret)?;
        put(&mut field, "required", c.required)?;
        put(&mut credentials, c.key, field)?;
    }
    let mut row = ZendHashTable::new();
    put(&mut row, "slug", info.slug)?;
    put(&mut row, "name", info.name)?;
    put(&mut row, "label", info.label)?;
    put(&mut row, "meta_slug", info.meta_slug)?;
    put(&mut row, "default_api_url", info.default_api_url)?;
    put(&mut row, "api_url_example", info.api_url_example)?;
    put(&mut row, "credentials", credentials)?;
    put(&mut row, "tags_as", info.tags_as.slug())?;
    put(&mut row, "automation_rules", info.automation_rules)?;
    put(&mut row, "contact_id_pair", info.contact_id_pair)?;
    put(&mut row, "rate_limit", info.rate_limit)?;
    put(&mut row, "wordpress", info.wordpress)?;
    Ok(row)
}

/// slug → the CRM's row, in the order the settings screen lists them.
pub(super) fn crms_array() -> Result<ZBox<ZendHashTable>, Failure> {
    let mut table = ZendHashTable::new();
    for info in &CRMS {
        put(&mut table, info.slug, crm_array(info)?)?;
    }
    Ok(table)
}

/// slug → `label`, `description`, `example` (the login it makes for John Smith).
pub(super) fn username_formats_array() -> Result<ZBox<ZendHashTable>, Failure> {
    let mut table = ZendHashTable::new();
    for format in UsernameFormat::ALL {
        let mut row = ZendHashTable::new();
        put(&mut row, "label", format.label())?;
        put(&mut row, "description", format.description())?;
        put(&mut row, "example", format.example())?;
        put(&mut table, format.slug(), row)?;
    }
    Ok(table)
}
