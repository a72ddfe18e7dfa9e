//! The normalized CRM contact: what every CRM's API answer is reduced to.

/// A contact as crmhook sees it, whichever CRM it came from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The CRM's contact id.
    pub id: String,
    /// The contact's email (may be empty when the CRM has none).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Custom fields: the CRM's field id or key → value.
    pub fields: Vec<(String, String)>,
    /// Tags, as the CRM's integration stores them (names for ActiveCampaign, ids elsewhere).
    pub tags: Vec<String>,
}

impl Contact {
    /// The value of a field by the CRM's field id; the standard names `email`, `first_name`
    /// and `last_name` reach the contact's own properties when no custom field has that id.
    pub fn field(&self, key: &str) -> Option<&str> {
        if let Some((_, v)) = self.fields.iter().find(|(k, _)| k == key) {
            return Some(v);
        }
        match key {
            "email" => Some(&self.email),
            "first_name" => Some(&self.first_name),
            "last_name" => Some(&self.last_name),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_fall_back_to_standard_properties() {
        let c = Contact { email: "a@b.c".into(), fields: vec![("7".into(), "x".into())], ..Contact::default() };
        assert_eq!(c.field("7"), Some("x"));
        assert_eq!(c.field("email"), Some("a@b.c"));
        assert_eq!(c.field("8"), None);
    }
}
