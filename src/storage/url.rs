//! Blob URLs, both styles: `https://<account>.blob.core.windows.net/<container>/<blob>` and
//! path-style `http://127.0.0.1:10000/<account>/<container>/<blob>` (Azurite, custom endpoints):
//! read ([`BlobUrl::parse`]) and built for a request ([`request_url`], the one place).

use percent_encoding::utf8_percent_encode;

/// The URL of blob `name` in `container` under the service `endpoint`, for a request.
///
/// The Blob service takes the name percent-encoded in the path (reserved URL characters escaped).
/// Every byte but the unreserved characters is escaped, `/` too (`%2F`, which the service reads as
/// `/`): the name stays one path segment, so a URL parser neither drops TAB, CR or LF (which
/// WHATWG URL parsing removes from raw input) nor resolves `.` and `..` segments inside it.
/// `None` for a name no URL can carry: empty, or exactly `.` or `..` (a parser removes such a
/// segment, so the request would name another resource).
pub fn request_url(endpoint: &url::Url, container: &str, name: &str) -> Option<url::Url> {
    if matches!(name, "" | "." | "..") || container.is_empty() {
        return None;
    }
    let set = crate::azure::sas::VALUE;
    let path = [
        endpoint.path().trim_end_matches('/'),
        "/",
        &utf8_percent_encode(container, set).to_string(),
        "/",
        &utf8_percent_encode(name, set).to_string(),
    ]
    .concat();
    let mut url = endpoint.clone();
    url.set_path(&path);
    (url.path() == path).then_some(url)
}

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
    fn request_urls_escape_every_reserved_byte_and_round_trip() {
        let hosted = url::Url::parse("https://strec.blob.core.windows.net").expect("url");
        let path = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1").expect("url");
        for name in [
            "a\tb.rec",
            "line\r\nbreak/x.rec",
            "a/../b",
            "./x",
            "100% ?#[]@!$&'()*+,;= é",
            "tab\t",
        ] {
            for endpoint in [&hosted, &path] {
                let url = request_url(endpoint, "recordings", name).expect(name);
                assert!(!url.as_str().contains(['\t', '\r', '\n', ' ']), "{url}");
                let back = BlobUrl::parse(url.as_str()).expect("parses");
                assert_eq!(back.name, name, "{url}");
                assert_eq!(back.container, "recordings");
            }
        }
        assert_eq!(
            request_url(&path, "c", "a\tb").map(|u| u.to_string()),
            Some("http://127.0.0.1:10000/devstoreaccount1/c/a%09b".to_owned())
        );
        for bad in ["", ".", ".."] {
            assert_eq!(request_url(&hosted, "c", bad), None, "{bad:?}");
        }
    }

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
