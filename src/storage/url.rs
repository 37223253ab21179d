//! Blob URLs, both styles: `https://<account>.blob.core.windows.net/<container>/<blob>` and
//! path-style `http://127.0.0.1:10000/<account>/<container>/<blob>` (Azurite, custom endpoints).

/// The parts of a blob URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobUrl {
    /// Storage account name.
    pub account: String,
    /// Container name.
    pub container: String,
    /// Blob name, percent-decoded; may contain `/`.
    pub name: String,
}

impl BlobUrl {
    /// Parses `url`; `None` when it does not name an account, a container and a blob.
    pub fn parse(url: &str) -> Option<Self> {
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed.host_str()?;
        let path = percent_encoding::percent_decode_str(parsed.path().trim_start_matches('/'))
            .decode_utf8()
            .ok()?;
        let (account, rest) = if is_path_style(host) {
            let (account, rest) = path.split_once('/')?;
            (account.to_owned(), rest.to_owned())
        } else {
            let account = host.split('.').next()?.to_owned();
            (account, path.into_owned())
        };
        let (container, name) = rest.split_once('/')?;
        let all = [account.as_str(), container, name];
        all.iter().all(|s| !s.is_empty()).then(|| Self {
            account: account.clone(),
            container: container.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The account of a blob or account URL (`https://<account>.blob…/…`, `http://host/<account>/…`).
    pub fn account_of(url: &str) -> Option<String> {
        let parsed = url::Url::parse(url).ok()?;
        let host = parsed.host_str()?;
        let account = if is_path_style(host) {
            parsed.path_segments()?.next()?
        } else {
            host.split('.').next()?
        };
        (!account.is_empty()).then(|| account.to_owned())
    }
}

/// An IP address or `localhost` carries the account in the path.
fn is_path_style(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_styles_parse_to_account_container_and_name() {
        let hosted = BlobUrl::parse("https://strec.blob.core.windows.net/recordings/a/b%20c.mp4");
        assert_eq!(
            hosted,
            Some(BlobUrl {
                account: "strec".into(),
                container: "recordings".into(),
                name: "a/b c.mp4".into()
            })
        );
        let path =
            BlobUrl::parse("http://127.0.0.1:10000/devstoreaccount1/recordings/x").expect("path");
        assert_eq!(
            (
                path.account.as_str(),
                path.container.as_str(),
                path.name.as_str()
            ),
            ("devstoreaccount1", "recordings", "x")
        );
        for bad in [
            "not a url",
            "https://a.blob.core.windows.net/recordings",
            "http://localhost/acct/c/",
        ] {
            assert_eq!(BlobUrl::parse(bad), None, "{bad}");
        }
        assert_eq!(
            BlobUrl::account_of("http://[::1]:10000/acct/c/b").as_deref(),
            Some("acct")
        );
        assert_eq!(
            BlobUrl::account_of("https://acct.blob.core.windows.net/").as_deref(),
            Some("acct")
        );
    }
}
