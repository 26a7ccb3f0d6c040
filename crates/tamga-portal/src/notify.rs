//! E-mail notifications over SMTP (RFC 5321; message format RFC 5322, UTF-8 subject as an
//! RFC 2047 encoded word, 8-bit body as RFC 6152 allows). Plain SMTP to a relay the operator
//! configures (typically on the same host or network); STARTTLS and authentication are not
//! implemented, so the relay must accept the node by address.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Where mail goes.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Relay host:port.
    pub relay: String,
    /// Envelope and header sender.
    pub from: String,
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// A plausible address: one `@`, no spaces or control characters, at most 254 bytes.
pub fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else {
        return false;
    };
    a.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && a.chars()
            .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"".contains(c))
}

async fn expect(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    code: &str,
) -> Result<(), String> {
    loop {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .await
            .map_err(|e| format!("SMTP: {e}"))?;
        if n == 0 {
            return Err("SMTP: the relay closed the connection".into());
        }
        if !line.starts_with(code) {
            return Err(format!("SMTP: expected {code}, got {}", line.trim_end()));
        }
        // "250-" continues a multi-line reply; "250 " ends it.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// Sends one message; an error says which step the relay refused.
pub async fn send(s: &SmtpSettings, to: &str, subject: &str, body: &str) -> Result<(), String> {
    if !valid_address(to) || !valid_address(&s.from) {
        return Err("SMTP: not a valid address".into());
    }
    let conn = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&s.relay))
        .await
        .map_err(|_| "SMTP: connection timed out".to_owned())?
        .map_err(|e| format!("SMTP: {e}"))?;
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    let talk = async {
        expect(&mut r, "220").await?;
        for (cmd, code) in [
            ("EHLO tamga.localhost".to_owned(), "250"),
            (format!("MAIL FROM:<{}>", s.from), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_owned(), "354"),
        ] {
            w.write_all(format!("{cmd}\r\n").as_bytes())
                .await
                .map_err(|e| format!("SMTP: {e}"))?;
            expect(&mut r, code).await?;
        }
        let mut msg = format!(
            "From: Tamga <{}>\r\nTo: <{to}>\r\nSubject: =?UTF-8?B?{}?=\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            s.from,
            b64(subject)
        );
        for line in body.lines() {
            // RFC 5321 §4.5.2: a line starting with a dot gets another.
            if line.starts_with('.') {
                msg.push('.');
            }
            msg.push_str(line);
            msg.push_str("\r\n");
        }
        msg.push_str(".\r\n");
        w.write_all(msg.as_bytes())
            .await
            .map_err(|e| format!("SMTP: {e}"))?;
        expect(&mut r, "250").await?;
        let _ = w.write_all(b"QUIT\r\n").await;
        Ok::<(), String>(())
    };
    tokio::time::timeout(Duration::from_secs(20), talk)
        .await
        .map_err(|_| "SMTP: the relay did not answer in time".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(valid_address("bat@example.org"));
        for bad in [
            "",
            "no-at",
            "a@b",
            "a b@example.org",
            "a@example.org\r\nRCPT TO:<x@y.z>",
            "<a>@example.org",
            "a@.org",
        ] {
            assert!(!valid_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(b64(""), "");
        assert_eq!(b64("f"), "Zg==");
        assert_eq!(b64("fo"), "Zm8=");
        assert_eq!(b64("foobar"), "Zm9vYmFy");
    }

    #[tokio::test]
    async fn talks_to_a_relay_and_stuffs_dots() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = l.local_addr().unwrap().to_string();
        let sink = tokio::spawn(async move {
            let (c, _) = l.accept().await.unwrap();
            let (r, mut w) = c.into_split();
            let mut r = BufReader::new(r);
            w.write_all(b"220 sink\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                    }
                } else if line.starts_with("DATA") {
                    in_data = true;
                    w.write_all(b"354 go\r\n").await.unwrap();
                } else if line.starts_with("EHLO") {
                    w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await.unwrap();
                } else if line.starts_with("QUIT") {
                    break;
                } else {
                    w.write_all(b"250 ok\r\n").await.unwrap();
                }
            }
            data
        });
        let s = SmtpSettings {
            relay,
            from: "noreply@example.org".into(),
        };
        send(&s, "bat@example.org", "Өргөдөл", "line\n.dot")
            .await
            .unwrap();
        let data = sink.await.unwrap();
        assert!(data.contains("Subject: =?UTF-8?B?"), "{data}");
        assert!(data.contains("\r\n..dot\r\n"), "{data}");
        assert!(send(&s, "bad address", "x", "y").await.is_err());
    }
}
