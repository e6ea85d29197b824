//! Presigned S3 requests (AWS Signature Version 4, query form) that sign more than the host.
//!
//! object_store presigns only `host`, so a client holding an upload URL could send any type and
//! any length. An upload URL here also signs `content-type` and `content-length`: the store
//! refuses a PUT whose body differs from what the server agreed to. The algorithm is AWS's own
//! (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html); the unit test checks
//! it against AWS's published example.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// Where and as whom to sign.
#[derive(Debug, Clone)]
pub struct S3Signer {
    /// `https://s3.us-east-1.amazonaws.com`, or a self-hosted endpoint.
    pub endpoint: Url,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`.
    pub path_style: bool,
}

/// One request to presign.
pub struct Presign<'a> {
    pub method: &'a str,
    pub key: &'a str,
    /// Headers the client must send exactly so (names in any case), beside `host`.
    pub headers: &'a [(&'a str, String)],
    pub expires_secs: u64,
    pub now: DateTime<Utc>,
}

/// RFC 3986 unreserved characters pass; everything else is %-encoded (`/` too, unless a path).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

impl S3Signer {
    /// The host (with a non-default port) and the encoded path of `key`.
    fn location(&self, key: &str) -> (String, String) {
        let host = self.endpoint.host_str().unwrap_or_default();
        let host = match self.endpoint.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        if self.path_style {
            (host, format!("/{}/{}", encode(&self.bucket, false), encode(key, true)))
        } else {
            (format!("{}.{host}", self.bucket), format!("/{}", encode(key, true)))
        }
    }

    /// A URL that performs `request` until it expires.
    pub fn presign(&self, request: &Presign<'_>) -> String {
        let (host, path) = self.location(request.key);
        let date = request.now.format("%Y%m%d").to_string();
        let stamp = request.now.format("%Y%m%dT%H%M%SZ").to_string();
        let scope = format!("{date}/{}/s3/aws4_request", self.region);

        let mut headers: Vec<(String, String)> =
            request.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned())).collect();
        headers.push(("host".into(), host.clone()));
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();

        let mut query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_owned()),
            ("X-Amz-Credential", format!("{}/{scope}", self.access_key_id)),
            ("X-Amz-Date", stamp.clone()),
            ("X-Amz-Expires", request.expires_secs.to_string()),
            ("X-Amz-SignedHeaders", signed.clone()),
        ];
        query.sort_by(|a, b| a.0.cmp(b.0));
        let query: Vec<String> =
            query.iter().map(|(k, v)| format!("{}={}", encode(k, false), encode(v, false))).collect();
        let query = query.join("&");

        let canonical = format!("{}\n{path}\n{query}\n{canonical_headers}\n{signed}\nUNSIGNED-PAYLOAD", request.method);
        let to_sign =
            format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let key = [date.as_str(), &self.region, "s3", "aws4_request"]
            .iter()
            .fold(format!("AWS4{}", self.secret_access_key).into_bytes(), |key, part| hmac(&key, part));
        let signature = hex::encode(hmac(&key, &to_sign));
        format!("{}://{host}{path}?{query}&X-Amz-Signature={signature}", self.endpoint.scheme())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// AWS's worked example of a presigned GET (the page named in the module docs).
    #[test]
    fn matches_the_aws_example() {
        let signer = S3Signer {
            endpoint: Url::parse("https://s3.amazonaws.com").unwrap(),
            bucket: "examplebucket".into(),
            region: "us-east-1".into(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            path_style: false,
        };
        let url = signer.presign(&Presign {
            method: "GET",
            key: "test.txt",
            headers: &[],
            expires_secs: 86400,
            now: Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap(),
        });
        assert!(url.starts_with("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
        assert!(url.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"));
        assert!(
            url.ends_with("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            "{url}"
        );
    }

    #[test]
    fn uploads_sign_their_type_and_length() {
        let signer = S3Signer {
            endpoint: Url::parse("http://127.0.0.1:9000").unwrap(),
            bucket: "cinegen".into(),
            region: "us-east-1".into(),
            access_key_id: "key".into(),
            secret_access_key: "secret".into(),
            path_style: true,
        };
        let headers = [("Content-Type", "image/png".to_owned()), ("Content-Length", "42".to_owned())];
        let url = signer.presign(&Presign {
            method: "PUT",
            key: "staging/users/a b/x.png",
            headers: &headers,
            expires_secs: 900,
            now: Utc::now(),
        });
        assert!(url.starts_with("http://127.0.0.1:9000/cinegen/staging/users/a%20b/x.png?"), "{url}");
        assert!(url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), "{url}");
    }
}
