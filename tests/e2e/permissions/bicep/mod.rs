//! The role assignments of one `infra/modules/*.bicep` file: which role, on which scope (the
//! storage account or one container), under which condition.
//!
//! A custom role is read from the file itself (its `actions` and `dataActions`, inline or through a
//! `var`); a built-in role is resolved from its id (written inline, in a `var`, in a `roles` object,
//! or through a `for r in [...]` loop) through the checked-in role table. An assignment looped over
//! sources (`for (s, i) in mine`) must be scoped to the same loop's element of a resource looped over
//! the same list (`scope: container[i]`): then every source gets it, and it reads as one grant on
//! "the container" of each. A small reader of the shapes this repository uses, not a Bicep parser
//! (none can be installed offline): anything it does not recognise is an error, so a new shape fails
//! loudly instead of granting nothing.

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
    /// A Log Analytics workspace.
    Workspace,
    /// A Bastion host (Resource Manager).
    BastionHost,
    /// A data collection rule (the Logs Ingestion API).
    DataCollectionRule,
    /// The resource group the module is deployed to (an assignment without `scope:`).
    ResourceGroup,
    /// The subscription (an assignment without `scope:` in a `targetScope = 'subscription'` file).
    Subscription,
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

/// A `[for <item> in <list>: ...]` or `[for (<item>, <index>) in <list>: ...]` header.
struct Loop<'a> {
    item: &'a str,
    index: Option<&'a str>,
    list: &'a str,
}

impl<'a> Resource<'a> {
    /// The text between `=` and the body's `{`.
    fn header(&self) -> &'a str {
        &self.rest[..self.rest.find('{').unwrap_or(self.rest.len())]
    }

    /// The loop of a looped declaration; `Err` when it has one this reader cannot read.
    fn looped(&self) -> Result<Option<Loop<'a>>, String> {
        let header = self.header().trim_start();
        let Some(f) = header
            .strip_prefix('[')
            .map(str::trim_start)
            .and_then(|h| h.strip_prefix("for "))
        else {
            return Ok(None);
        };
        let (vars, rest) = f.split_once(" in ").ok_or("unreadable loop")?;
        let vars = vars.trim();
        let (item, index) = match vars.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
            Some(pair) => {
                let (a, b) = pair.split_once(',').ok_or("unreadable loop variables")?;
                (a.trim(), Some(b.trim()))
            }
            None => (vars, None),
        };
        let rest = rest.trim_start();
        let list = if rest.starts_with('[') {
            balanced(rest)
        } else {
            rest.split(':').next().unwrap_or("").trim()
        };
        Ok(Some(Loop { item, index, list }))
    }
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

/// The grant of an assignment at the deployment's own scope: a custom role of the file only.
fn unscoped(
    text: &str,
    res: &[Resource<'_>],
    body: &str,
    scope: Scope,
    condition: Option<String>,
    err: &dyn Fn(String) -> String,
) -> Result<Option<Grant>, String> {
    let def = field(body, "roleDefinitionId").ok_or_else(|| err("no roleDefinitionId".into()))?;
    let sym = def
        .strip_suffix(".id")
        .filter(|s| {
            res.iter()
                .any(|x| x.sym == *s && x.ty == "Microsoft.Authorization/roleDefinitions")
        })
        .ok_or_else(|| {
            err("an assignment without scope must use a role defined in the file".into())
        })?;
    let role = res
        .iter()
        .find(|x| x.sym == sym)
        .map(|x| balanced(x.rest))
        .unwrap_or("");
    let mut patterns = list(text, field(role, "actions").unwrap_or("[]")).map_err(err)?;
    patterns.extend(list(text, field(role, "dataActions").unwrap_or("[]")).map_err(err)?);
    let name = field(role, "roleName")
        .unwrap_or(sym)
        .trim_matches('\'')
        .to_owned();
    Ok(Some(Grant {
        role: name,
        custom: true,
        patterns,
        scope,
        condition,
    }))
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
        let header = r.header();
        let condition = header
            .find("if (")
            .map(|i| balanced_parens(&header[i + 3..]).to_owned());
        let looped = r.looped().map_err(|e| err(e.to_owned()))?;
        let body = balanced(r.rest);
        let Some(scope_expr) = field(body, "scope") else {
            // No `scope:`: the deployment's own scope, the resource group unless the file says
            // `targetScope = 'subscription'`.
            let at_subscription = text.contains("targetScope = 'subscription'");
            let scope = if at_subscription {
                Scope::Subscription
            } else {
                Scope::ResourceGroup
            };
            out.extend(unscoped(&text, &res, body, scope, condition, &err)?);
            continue;
        };
        let (scope_sym, scope_index) = match scope_expr.split_once('[') {
            Some((sym, idx)) => (sym, Some(idx.trim_end_matches(']').trim())),
            None => (scope_expr, None),
        };
        let scope_res = res
            .iter()
            .find(|x| x.sym == scope_sym)
            .ok_or_else(|| err(format!("unknown scope `{scope_expr}`")))?;
        // A looped scope: the assignment must take the element of its own loop over the same list.
        let scope_loop = scope_res.looped().map_err(|e| err(e.to_owned()))?;
        match (&scope_loop, scope_index, &looped) {
            (None, None, _) => {}
            (Some(sl), Some(idx), Some(l)) if l.index == Some(idx) && sl.list == l.list => {}
            _ => {
                return Err(err(format!(
                    "scope `{scope_expr}` is not the element of the assignment's own loop over the list `{scope_sym}` is looped over"
                )));
            }
        }
        let scope = match scope_res.ty {
            "Microsoft.Storage/storageAccounts" => Scope::Account,
            "Microsoft.Storage/storageAccounts/blobServices/containers" => Scope::Container,
            "Microsoft.OperationalInsights/workspaces" => Scope::Workspace,
            "Microsoft.Network/bastionHosts" => Scope::BastionHost,
            "Microsoft.Insights/dataCollectionRules" => Scope::DataCollectionRule,
            _ => Scope::Other,
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
        // A loop whose variable picks the role (`for r in [roles.a, roles.b]`): one grant per role.
        // A loop over sources that does not touch the role: one grant, on each source's scope.
        let exprs: Vec<String> = match looped.filter(|l| replace_ident(def, l.item, "") != def) {
            Some(l) => {
                let items = if l.list.starts_with('[') {
                    split_list(l.list)
                } else {
                    list(&text, l.list).map_err(err)?
                };
                items
                    .iter()
                    .map(|i| replace_ident(def, l.item, i))
                    .collect()
            }
            None => vec![def.to_owned()],
        };
        for e in exprs {
            let id = role_id(&text, &e).map_err(err)?;
            // A role listed as not storage is skipped on its own scopes (Application Insights, Key
            // Vault), read from the table on a data collection rule (Monitoring Metrics Publisher,
            // the Logs Ingestion API's role), and refused on a storage scope.
            if let Some(n) = table.not_storage(&id) {
                match scope {
                    Scope::Other => continue,
                    Scope::DataCollectionRule if table.get(&id).is_some() => {}
                    _ => return Err(err(format!("{n} assigned on a storage scope"))),
                }
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
