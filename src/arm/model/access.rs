//! Role assignments and definitions as `Microsoft.Authorization` answers them: whether the
//! identity a host records with may write its container.

use serde::Deserialize;

use super::nullable::nullable;

/// A `Microsoft.Authorization/roleAssignments` item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RoleAssignment {
    /// Its properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: RoleAssignmentProperties,
}

/// `properties` of a role assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleAssignmentProperties {
    /// `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: Option<String>,
    /// The principal it grants to.
    pub principal_id: Option<String>,
    /// Where it is assigned.
    pub scope: Option<String>,
    /// An ABAC condition, if any.
    pub condition: Option<String>,
}

/// A `Microsoft.Authorization/roleDefinitions` resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RoleDefinition {
    /// Its resource id (`…/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
    pub id: Option<String>,
    /// Its GUID.
    pub name: Option<String>,
    /// Its properties.
    #[serde(deserialize_with = "nullable")]
    pub properties: RoleDefinitionProperties,
}

/// `properties` of a role definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleDefinitionProperties {
    /// The role's name.
    pub role_name: Option<String>,
    /// Its permissions.
    #[serde(deserialize_with = "nullable")]
    pub permissions: Vec<RolePermission>,
}

/// One permission block of a role definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolePermission {
    /// Control-plane actions.
    #[serde(deserialize_with = "nullable")]
    pub actions: Vec<String>,
    /// Excluded actions.
    #[serde(deserialize_with = "nullable")]
    pub not_actions: Vec<String>,
    /// Data-plane actions.
    #[serde(deserialize_with = "nullable")]
    pub data_actions: Vec<String>,
    /// Excluded data actions.
    #[serde(deserialize_with = "nullable")]
    pub not_data_actions: Vec<String>,
}

impl RoleDefinition {
    /// True when the role allows data action `action` (wildcards as RBAC reads them, any case).
    pub fn allows_data(&self, action: &str) -> bool {
        self.properties.permissions.iter().any(|p| {
            p.data_actions
                .iter()
                .any(|a| crate::permissions::matches(a, action))
                && !p
                    .not_data_actions
                    .iter()
                    .any(|a| crate::permissions::matches(a, action))
        })
    }
}
