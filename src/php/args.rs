//! The exported functions' arguments, taken from PHP as they came and checked here, so that a
//! wrong type is a `\TypeError` worded like PHP's own for its internal functions:
//!
//! ```text
//! crmhook_map_contact(): Argument #2 ($options) must be of type array, string given
//! crmhook_parse_webhook(): Argument #1 ($request) key "headers" must be of type ?array, int given
//! crmhook_map_contact(): Argument #2 ($options) key "field_map" item "4" must be of type string, stdClass given
//! ```
//!
//! ext-php-rs's own conversions would refuse such a value too, but with a message of its own
//! ("Invalid value given for argument `options`."). The wrappers below declare the same PHP
//! type to the engine and the stubs (`array`, `string`, `int`) yet accept any value, so the check
//! — and its words — are ours.

use std::fmt::Write as _;

use ext_php_rs::convert::FromZval;
use ext_php_rs::ffi::zend_wrong_parameters_count_error;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ExecuteData;

use super::exceptions::Failure;

/// One argument of one function: what the messages name.
#[derive(Debug, Clone, Copy)]
pub(super) struct Param {
    pub(super) function: &'static str,
    pub(super) position: u8,
    pub(super) name: &'static str,
}

impl Param {
    pub(super) const fn new(function: &'static str, position: u8, name: &'static str) -> Self {
        Param { function, position, name }
    }

    /// The argument itself.
    pub(super) const fn at(&'static self) -> At<'static> {
        At { param: self, key: None }
    }

    /// The value under `key` in this (array) argument.
    pub(super) const fn key<'k>(&'static self, key: &'k str) -> At<'k> {
        At { param: self, key: Some(key) }
    }
}

/// Where a value sits: an argument, or one key of an array argument.
#[derive(Debug, Clone, Copy)]
pub(super) struct At<'k> {
    param: &'static Param,
    key: Option<&'k str>,
}

/// An entry of an array found at an [`At`]: a list index or a key.
#[derive(Debug, Clone, Copy)]
pub(super) enum Item<'i> {
    Index(usize),
    Key(&'i str),
}

/// Why a value could not be read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotText {
    /// An array or an object where a scalar belongs.
    Type,
    /// A string that is not UTF-8.
    Utf8,
}

impl At<'_> {
    /// `crmhook_x(): Argument #2 ($options) key "field_map" item "4"`.
    fn describe(&self, item: Option<Item<'_>>) -> String {
        let Param { function, position, name } = *self.param;
        let mut out = format!("{function}(): Argument #{position} (${name})");
        if let Some(key) = self.key {
            let _ = write!(out, " key \"{}\"", crate::text::echo(key));
        }
        match item {
            Some(Item::Index(i)) => {
                let _ = write!(out, " item {i}");
            }
            Some(Item::Key(k)) => {
                let _ = write!(out, " item \"{}\"", crate::text::echo(k));
            }
            None => {}
        }
        out
    }

    /// `… must be of type {expected}, {given} given`.
    pub(super) fn wrong_type(&self, expected: &str, given: &Zval) -> Failure {
        self.wrong_item_type(None, expected, given)
    }

    pub(super) fn wrong_item_type(&self, item: Option<Item<'_>>, expected: &str, given: &Zval) -> Failure {
        Failure::Type(format!("{} must be of type {expected}, {} given", self.describe(item), type_name(given)))
    }

    /// A value that is not text: the wrong type, or a string that is not UTF-8.
    pub(super) fn not_text(&self, item: Option<Item<'_>>, why: NotText, given: &Zval) -> Failure {
        match why {
            NotText::Type => self.wrong_item_type(item, "string", given),
            NotText::Utf8 => Failure::Type(format!("{} must be valid UTF-8", self.describe(item))),
        }
    }

    /// A `\ValueError` about this value (`… must not be negative`).
    pub(super) fn value_error(&self, why: &str) -> Failure {
        Failure::Value(format!("{} {why}", self.describe(None)))
    }
}

/// The type's name as PHP's own messages give it: `null`, `bool`, `int`, `float`, `string`,
/// `array`, the class of an object, `resource`.
pub(super) fn type_name(v: &Zval) -> String {
    let v = v.dereference();
    match v.get_type() {
        DataType::Null | DataType::Undef => "null".into(),
        DataType::False | DataType::True | DataType::Bool => "bool".into(),
        DataType::Long => "int".into(),
        DataType::Double => "float".into(),
        DataType::String => "string".into(),
        DataType::Array => "array".into(),
        DataType::Object(_) => v.object().and_then(|o| o.get_class_name().ok()).unwrap_or_else(|| "object".into()),
        DataType::Resource => "resource".into(),
        _ => "mixed".into(),
    }
}

/// True when a call to a function registered by hand (`FunctionBuilder::new`) passed `min` to
/// `max` arguments, as the engine's own `ZEND_PARSE_PARAMETERS_START(min, max)` checks; otherwise
/// the engine's own ArgumentCountError is thrown.
#[inline]
pub(super) fn argument_count_within(ex: &ExecuteData, min: u32, max: u32) -> bool {
    // SAFETY: `ex` is the frame the engine passed to an internal function's handler, whose
    // `This.u2` holds the number of arguments the call passed.
    let given = unsafe { ex.This.u2.num_args };
    if (min..=max).contains(&given) {
        return true;
    }
    // SAFETY: in a handler, for the function being called: the engine names it and the counts
    // in its ArgumentCountError, as for its own functions.
    unsafe { zend_wrong_parameters_count_error(min, max) };
    false
}

/// Argument `index` (from 0) of the call, read straight from the call frame; `None` past the
/// arguments passed ([`argument_count_within`] says how many there are).
#[inline]
pub(super) fn argument(ex: &ExecuteData, index: u32) -> Option<&Zval> {
    // SAFETY: as in `argument_count_within`.
    if index >= unsafe { ex.This.u2.num_args } {
        return None;
    }
    // SAFETY: below the number of arguments passed, the frame holds one `zval` per argument,
    // alive for the call (as long as `ex` is lent); it is only read. By-value arguments arrive
    // dereferenced; `dereference` keeps that true whoever calls.
    unsafe { ex.zend_call_arg(index as usize) }.map(|zv| zv.dereference())
}

/// An argument PHP sees as `array`.
pub(super) struct ArrayArg<'a>(&'a Zval);

impl<'a> ArrayArg<'a> {
    /// An argument read from the call frame (see [`argument`]).
    pub(super) const fn new(zval: &'a Zval) -> Self {
        ArrayArg(zval)
    }
}

impl<'a> FromZval<'a> for ArrayArg<'a> {
    const TYPE: DataType = DataType::Array;
    fn from_zval(zval: &'a Zval) -> Option<Self> {
        Some(ArrayArg(zval))
    }
}

impl<'a> ArrayArg<'a> {
    /// The array, or the TypeError naming `param`.
    pub(super) fn get(&self, param: &'static Param) -> Result<&'a ZendHashTable, Failure> {
        self.0.array().ok_or_else(|| param.at().wrong_type("array", self.0))
    }

    /// For a `?array` argument: null is `None`.
    pub(super) fn nullable(&self, param: &'static Param) -> Result<Option<&'a ZendHashTable>, Failure> {
        if self.0.is_null() {
            return Ok(None);
        }
        self.0.array().map(Some).ok_or_else(|| param.at().wrong_type("?array", self.0))
    }
}

/// An argument PHP sees as `string`.
pub(super) struct StrArg<'a>(&'a Zval);

impl<'a> FromZval<'a> for StrArg<'a> {
    const TYPE: DataType = DataType::String;
    fn from_zval(zval: &'a Zval) -> Option<Self> {
        Some(StrArg(zval))
    }
}

impl<'a> StrArg<'a> {
    /// The string's bytes, whatever they hold.
    pub(super) fn bytes(&self, param: &'static Param) -> Result<&'a [u8], Failure> {
        self.0.zend_str().map(|s| s.as_bytes()).ok_or_else(|| param.at().wrong_type("string", self.0))
    }

    /// The string as UTF-8 text.
    pub(super) fn text(&self, param: &'static Param) -> Result<&'a str, Failure> {
        let bytes = self.bytes(param)?;
        std::str::from_utf8(bytes).map_err(|_| param.at().not_text(None, NotText::Utf8, self.0))
    }

    /// For a `?string` argument: null is `None`.
    pub(super) fn nullable_text(&self, param: &'static Param) -> Result<Option<&'a str>, Failure> {
        if self.0.is_null() {
            return Ok(None);
        }
        if !self.0.is_string() {
            return Err(param.at().wrong_type("?string", self.0));
        }
        self.text(param).map(Some)
    }
}
