//! The role assignments of one `infra/modules/*.bicep` file: which role, on which scope (the
//! storage account or one container), under which condition.
//!
//! A custom role is read from the file itself (its `actions` and `dataActions`, inline or through a
//! `var`); a built-in role is resolved from its id (written inline, in a `var`, in a `roles` object,
//! or through a `for r in [...]` loop) through the checked-in role table. A small reader of the
//! shapes this repository uses, not a Bicep parser (none can be installed offline): anything it does
//! not recognise is an error, so a new shape fails loudly instead of granting nothing.

#[cfg(test)]
mod tests;
mod text;

pub(in crate::permissions) use self::text::strip_comments;
use self::text::{balanced, balanced_parens, field, guids, list, replace_ident, split_list};
use super::roles::RoleTable;

/// What a role assignment is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    /// A storage account (every container, table and queue in it).
    Account,
    /// The one container the module is about.
    Container,
    /// Not storage (Application Insights, Key Vault).
    Other,
}

/// One role assignment.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    /// Role name.
    pub(super) role: String,
    /// Defined in the file (its actions are checked one by one).
    pub(super) custom: bool,
    /// Actions and data actions, wildcards allowed.
    pub(super) patterns: Vec<String>,
    /// Scope.
    pub(super) scope: Scope,
    /// `if (...)` condition of the assignment, if any.
    pub(super) condition: Option<String>,
}

/// A `resource` declaration: symbol, type (without API version), text after `=`.
struct Resource<'a> {
    sym: &'a str,
    ty: &'a str,
    rest: &'a str,
}

fn resources(text: &str) -> Vec<Resource<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find("resource ") {
        let start = at + i;
        at = start + 9;
        if start > 0 && !text[..start].ends_with('\n') {
            continue;
        }
        let mut words = text[at..].splitn(2, ' ');
        let (Some(sym), Some(tail)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(ty) = tail.strip_prefix('\'').and_then(|t| t.split('@').next()) else {
            continue;
        };
        let Some(eq) = tail.find('=') else { continue };
        out.push(Resource {
            sym,
            ty,
            rest: &tail[eq + 1..],
        });
    }
    out
}

/// The role id an expression stands for: a literal id, or a name declared with one
/// (`name: '<id>'` in an object, or `var name = ...'<id>'...`).
fn role_id(text: &str, expr: &str) -> Result<String, String> {
    if let Some(g) = guids(expr).into_iter().next() {
        return Ok(g);
    }
    for name in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')) {
        let last = name.rsplit('.').next().unwrap_or(name);
        if last.is_empty() {
            continue;
        }
        for decl in [format!("{last}: '"), format!("var {last} = ")] {
            if let Some(i) = text.find(&decl) {
                let line = text[i..].lines().next().unwrap_or("");
                if let Some(g) = guids(line).into_iter().next() {
                    return Ok(g);
                }
            }
        }
    }
    Err(format!("cannot resolve the role id of `{expr}`"))
}

/// Every role assignment in `text` (the contents of `infra/modules/<file>`).
pub(super) fn grants(file: &str, text: &str, table: &RoleTable) -> Result<Vec<Grant>, String> {
    let text = strip_comments(text);
    let res = resources(&text);
    let kind = |sym: &str| res.iter().find(|r| r.sym == sym).map(|r| r.ty);
    let mut out = Vec::new();
    for r in res
        .iter()
        .filter(|r| r.ty == "Microsoft.Authorization/roleAssignments")
    {
        let err = |m: String| format!("infra/modules/{file}: role assignment `{}`: {m}", r.sym);
        let header = &r.rest[..r.rest.find('{').unwrap_or(r.rest.len())];
        let condition = header
            .find("if (")
            .map(|i| balanced_parens(&header[i + 3..]).to_owned());
        let looped = header.trim_start().strip_prefix('[').map(str::trim_start);
        let (var, items) = match looped.and_then(|h| h.strip_prefix("for ")) {
            Some(f) => {
                let (v, rest) = f
                    .split_once(" in ")
                    .ok_or_else(|| err("unreadable loop".into()))?;
                let rest = rest.trim_start();
                let items = if rest.starts_with('[') {
                    split_list(balanced(rest))
                } else {
                    list(&text, rest.split(':').next().unwrap_or("").trim()).map_err(err)?
                };
                (Some(v.trim()), items)
            }
            None => (None, Vec::new()),
        };
        let body = balanced(r.rest);
        let scope_sym = field(body, "scope").ok_or_else(|| err("no scope".into()))?;
        let scope = match kind(scope_sym) {
            Some("Microsoft.Storage/storageAccounts") => Scope::Account,
            Some("Microsoft.Storage/storageAccounts/blobServices/containers") => Scope::Container,
            Some(_) => Scope::Other,
            None => return Err(err(format!("unknown scope `{scope_sym}`"))),
        };
        let def =
            field(body, "roleDefinitionId").ok_or_else(|| err("no roleDefinitionId".into()))?;
        let custom = def
            .strip_suffix(".id")
            .filter(|s| kind(s) == Some("Microsoft.Authorization/roleDefinitions"));
        if let Some(sym) = custom {
            let role = res
                .iter()
                .find(|x| x.sym == sym)
                .map(|x| balanced(x.rest))
                .unwrap_or("");
            let mut patterns = list(&text, field(role, "actions").unwrap_or("[]")).map_err(err)?;
            patterns.extend(list(&text, field(role, "dataActions").unwrap_or("[]")).map_err(err)?);
            let name = field(role, "roleName")
                .unwrap_or(sym)
                .trim_matches('\'')
                .to_owned();
            out.push(Grant {
                role: name,
                custom: true,
                patterns,
                scope,
                condition,
            });
            continue;
        }
        let exprs: Vec<String> = match var {
            Some(v) => items.iter().map(|i| replace_ident(def, v, i)).collect(),
            _ => vec![def.to_owned()],
        };
        for e in exprs {
            let id = role_id(&text, &e).map_err(err)?;
            if let Some(n) = table.not_storage(&id) {
                if scope != Scope::Other {
                    return Err(err(format!("{n} assigned on a storage scope")));
                }
                continue;
            }
            let role = table
                .get(&id)
                .ok_or_else(|| err(format!("role {id} is not in the built-in role table")))?;
            out.push(Grant {
                role: role.name.clone(),
                custom: false,
                patterns: role
                    .actions
                    .iter()
                    .chain(&role.data_actions)
                    .cloned()
                    .collect(),
                scope: scope.clone(),
                condition: condition.clone(),
            });
        }
    }
    Ok(out)
}
