//! The failure of a token request, phrased for operators, and how to find it in an error's chain
//! (the SDK wraps it in its own context).

/// A token request that failed, already phrased for operators (setting, endpoint, reason).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct IdentityError(pub String);

/// The message of an [`IdentityError`] anywhere in `e`'s chain (the SDK's context hides it).
pub fn identity_failure(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    chain(e).find_map(|err| Some(err.downcast_ref::<IdentityError>()?.0.clone()))
}

/// `e` and its sources, outermost first.
pub fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |err| err.source())
}
