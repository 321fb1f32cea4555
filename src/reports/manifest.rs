//! Export manifests: what an export holds, the digests of its exact bytes, signed with the
//! service's Ed25519 key, and their offline verification.
//!
//! **What is signed.** The manifest is a JSON object. Its `signature` member is the Ed25519
//! signature (lower-case hex) of the UTF-8 bytes of the *canonical form* of the manifest
//! without `signature`: compact JSON, object keys sorted, non-ASCII characters unescaped —
//! what Python's `json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
//! writes. The public key is `GET /api/v1/reports/signing-key` (hex, 32 bytes).

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::format::{Format, RowNotWritten, read_rows};
use crate::auth::secret;
use crate::domain::chain::{GENESIS_HASH, link_hash};
use crate::ledger::canonical;

pub const MANIFEST_FORMAT: &str = "sme-ledger-export-manifest/1";

/// The service's signing key, from the settings (64 hex digits: the 32-byte Ed25519 seed) or
/// generated once into `data_dir/signing-key`, owner-only.
pub fn load_signing_key(
    configured: Option<&SecretString>,
    data_dir: &Path,
) -> anyhow::Result<SigningKey> {
    let secret = secret::load_or_generate(configured, data_dir, "signing-key", 32)?;
    let seed: [u8; 32] = hex::decode(secret.expose_secret().trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the signing key must be 64 hexadecimal digits (a 32-byte Ed25519 seed)"
            )
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Compact JSON with object keys sorted at every level.
pub fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|key| {
                    format!(
                        "{}:{}",
                        Value::String(key.clone()),
                        canonical_json(&map[key])
                    )
                })
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        scalar => scalar.to_string(),
    }
}

/// Signs `manifest` (which must not yet have a `signature`) and adds the signature.
pub fn sign(mut manifest: Map<String, Value>, key: &SigningKey) -> Value {
    manifest.remove("signature");
    let signature = key.sign(canonical_json(&Value::Object(manifest.clone())).as_bytes());
    manifest.insert(
        "signature".into(),
        Value::String(hex::encode(signature.to_bytes())),
    );
    Value::Object(manifest)
}

/// Running digests of both formats of one selection of rows, built row by row.
pub struct Digest2 {
    csv: Sha256,
    jsonl: Sha256,
    rows: u64,
    first: Option<(i64, String)>,
    last: Option<(i64, String)>,
    buffer: Vec<u8>,
}

impl Default for Digest2 {
    fn default() -> Self {
        let mut csv = Sha256::new();
        csv.update(Format::Csv.preamble());
        let mut jsonl = Sha256::new();
        jsonl.update(Format::Jsonl.preamble());
        Self {
            csv,
            jsonl,
            rows: 0,
            first: None,
            last: None,
            buffer: Vec::new(),
        }
    }
}

impl Digest2 {
    pub fn add(&mut self, row: &super::format::ExportRow) -> Result<(), RowNotWritten> {
        for (format, hasher) in [
            (Format::Csv, &mut self.csv),
            (Format::Jsonl, &mut self.jsonl),
        ] {
            self.buffer.clear();
            format.write_row(row, &mut self.buffer)?;
            hasher.update(&self.buffer);
        }
        self.rows += 1;
        if self.first.is_none() {
            self.first = Some((row.entry.seq, row.entry.prev_hash.clone()));
        }
        self.last = Some((row.entry.seq, row.entry.hash.clone()));
        Ok(())
    }

    /// The unsigned manifest.
    pub fn manifest(self, filters: Value, until_seq: i64, public_key: &str) -> Map<String, Value> {
        let value = json!({
            "format": MANIFEST_FORMAT,
            "filters": filters,
            "until_seq": until_seq,
            "row_count": self.rows,
            "first_seq": self.first.as_ref().map(|(seq, _)| *seq),
            "last_seq": self.last.as_ref().map(|(seq, _)| *seq),
            "chain_hash_before_first": self.first.map(|(_, hash)| hash),
            "chain_hash_at_last": self.last.map(|(_, hash)| hash),
            "csv_sha256": hex::encode(self.csv.finalize()),
            "jsonl_sha256": hex::encode(self.jsonl.finalize()),
            "signature_algorithm": "ed25519",
            "public_key": public_key,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// What a successful offline verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub format: Format,
    pub rows: u64,
    pub until_seq: i64,
    /// Whether the signature was checked with a key the caller trusts. When false it was
    /// checked with the key the manifest carries, which anyone can replace along with the
    /// signature: the export is consistent with its manifest, but nothing says who made it.
    pub signer_trusted: bool,
}

fn field<'a>(manifest: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    manifest
        .get(name)
        .ok_or_else(|| format!("the manifest has no `{name}`"))
}

fn text_field(manifest: &Map<String, Value>, name: &str) -> Result<String, String> {
    field(manifest, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("`{name}` is not text"))
}

/// Reads a public key: the JSON of `GET /reports/signing-key`, or the 64 hex digits alone.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let trimmed = text.trim();
    let hex_key = match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(map)) => map
            .get("public_key")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default(),
        _ => trimmed.to_owned(),
    };
    let bytes: [u8; 32] = hex::decode(hex_key.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("the public key is not 64 hexadecimal digits")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "the public key is not a valid Ed25519 key".into())
}

/// Says how the data and the manifest differ in extent (`until_seq`, rows), if they do. A
/// manifest fetched after more postings than the data is not a changed file, and the reader
/// should be told which to fetch again.
fn extent_mismatch(
    manifest: &Map<String, Value>,
    rows: &[super::format::ExportRow],
    until_seq: i64,
) -> Result<Option<String>, String> {
    let expected_rows = field(manifest, "row_count")?
        .as_u64()
        .ok_or("`row_count` is not a number")?;
    let manifest_last = field(manifest, "last_seq")?.as_i64();
    let data_last = rows.iter().map(|row| row.entry.seq).max();
    let data_rows = rows.len() as u64;
    let describe_data = match data_last {
        Some(last) => format!("the data holds {data_rows} rows up to seq {last}"),
        None => "the data holds no rows".to_owned(),
    };
    let describe_manifest = format!(
        "the manifest is for until_seq {until_seq} and says {expected_rows} rows{}",
        manifest_last.map_or(String::new(), |last| format!(" up to seq {last}"))
    );
    if let Some(last) = data_last.filter(|last| *last > until_seq) {
        return Ok(Some(format!(
            "until_seq differs: {describe_data}, past the manifest's until_seq {until_seq} \
             ({describe_manifest}); the manifest was made before the data: fetch both with \
             the same until_seq (at least {last})"
        )));
    }
    if data_rows < expected_rows && data_last < manifest_last {
        let hint = data_last.map_or(String::new(), |last| {
            format!(" (the manifest with ?until_seq={last}, if the data was not filtered)")
        });
        return Ok(Some(format!(
            "until_seq differs: {describe_data}; {describe_manifest}: the data was \
             exported at an earlier until_seq than the manifest, or rows are missing at the \
             end; fetch both with the same until_seq{hint}"
        )));
    }
    if data_rows != expected_rows {
        return Ok(Some(format!(
            "the row count differs: {describe_data}; {describe_manifest}"
        )));
    }
    Ok(None)
}

/// Checks an export against its manifest: the signature, the extent (`until_seq` and row
/// count), the digest of the exact bytes, the `seq` range, every row's hash, and — for an
/// unfiltered export — the links between rows from the start of the chain. Any changed byte
/// makes it fail.
///
/// `trusted_key` is the service's public key as the caller knows it (see
/// [`parse_public_key`]). Without one the manifest's own key is used and the result says the
/// signer is not verified: a forger can re-sign a changed export with a key of their own.
pub fn verify_export(
    manifest: &[u8],
    data: &[u8],
    trusted_key: Option<&str>,
) -> Result<Verified, String> {
    let Value::Object(mut manifest) = serde_json::from_slice::<Value>(manifest)
        .map_err(|error| format!("the manifest is not JSON: {error}"))?
    else {
        return Err("the manifest is not a JSON object".into());
    };
    if field(&manifest, "format")?.as_str() != Some(MANIFEST_FORMAT) {
        return Err(format!("the manifest is not a {MANIFEST_FORMAT} document"));
    }
    let signature_hex = text_field(&manifest, "signature")?;
    manifest.remove("signature");
    let signer_trusted = trusted_key.is_some();
    let key = match trusted_key {
        Some(key) => parse_public_key(key)?,
        None => parse_public_key(&text_field(&manifest, "public_key")?)?,
    };
    let signature: [u8; 64] = hex::decode(&signature_hex)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("the signature is not 128 hexadecimal digits")?;
    if key
        .verify(
            canonical_json(&Value::Object(manifest.clone())).as_bytes(),
            &Signature::from_bytes(&signature),
        )
        .is_err()
    {
        let claimed = manifest.get("public_key").and_then(Value::as_str);
        return Err(match claimed {
            Some(claimed) if signer_trusted && claimed != hex::encode(key.to_bytes()) => format!(
                "the manifest's signature does not verify with the trusted key {}: it names \
                 the key {claimed}, so it was not signed by this service (or was altered)",
                hex::encode(key.to_bytes())
            ),
            _ => "the manifest's signature does not verify: the manifest was altered or \
                  signed by another key"
                .to_owned(),
        });
    }

    let format = if data.starts_with(b"id,seq,") {
        Format::Csv
    } else {
        Format::Jsonl
    };
    let digest_field = match format {
        Format::Csv => "csv_sha256",
        Format::Jsonl => "jsonl_sha256",
    };
    let digest = hex::encode(Sha256::digest(data));
    let digest_matches = digest == text_field(&manifest, digest_field)?;
    let changed = || {
        format!(
            "the data's SHA-256 is {digest}, not the manifest's `{digest_field}`: the file \
             was changed"
        )
    };
    let rows = match read_rows(format, data) {
        Ok(rows) => rows,
        Err(reason) if digest_matches => return Err(reason),
        Err(reason) => {
            return Err(format!(
                "{}; it does not read as an export: {reason}",
                changed()
            ));
        }
    };
    let until_seq = field(&manifest, "until_seq")?
        .as_i64()
        .ok_or("`until_seq` is not a number")?;
    if let Some(mismatch) = extent_mismatch(&manifest, &rows, until_seq)? {
        return Err(mismatch);
    }
    if !digest_matches {
        return Err(changed());
    }

    let first = rows.first().map(|row| &row.entry);
    let last = rows.last().map(|row| &row.entry);
    if field(&manifest, "first_seq")?.as_i64() != first.map(|row| row.seq)
        || field(&manifest, "last_seq")?.as_i64() != last.map(|row| row.seq)
    {
        return Err("the rows' seq range is not the manifest's".into());
    }
    if field(&manifest, "chain_hash_before_first")?.as_str()
        != first.map(|row| row.prev_hash.as_str())
        || field(&manifest, "chain_hash_at_last")?.as_str() != last.map(|row| row.hash.as_str())
    {
        return Err("the chain hashes at the ends of the rows are not the manifest's".into());
    }
    let unfiltered = field(&manifest, "filters")?
        .as_object()
        .is_some_and(|filters| filters.values().all(Value::is_null));
    let mut previous: Option<&crate::db::ledger::LedgerEntryRow> = None;
    for row in rows.iter().map(|row| &row.entry) {
        if row.seq > until_seq {
            return Err(format!("seq {} is past until_seq {until_seq}", row.seq));
        }
        if previous.is_some_and(|p| row.seq <= p.seq) {
            return Err(format!("seq {} is out of order", row.seq));
        }
        let encoded = canonical(row).map_err(|error| error.to_string())?;
        if link_hash(&row.prev_hash, &encoded) != row.hash {
            return Err(format!(
                "seq {}: the row does not hash to its `hash`: it was altered",
                row.seq
            ));
        }
        if unfiltered {
            let (expected_seq, expected_prev) = match previous {
                Some(p) => (p.seq + 1, p.hash.as_str()),
                None => (1, GENESIS_HASH),
            };
            if row.seq != expected_seq || row.prev_hash != expected_prev {
                return Err(format!(
                    "seq {}: the chain is broken before this row (a row is missing or moved)",
                    row.seq
                ));
            }
        }
        previous = Some(row);
    }
    if unfiltered && last.map_or(0, |row| row.seq) != until_seq {
        return Err(format!(
            "the rows end before until_seq {until_seq}: rows are missing at the end"
        ));
    }
    Ok(Verified {
        format,
        rows: rows.len() as u64,
        until_seq,
        signer_trusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({ "b": 1, "a": { "d": [true, null], "c": "é\"" } });
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"é\"","d":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn a_signed_manifest_verifies_only_with_its_key_and_content() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let data = b"";
        let manifest =
            Digest2::default().manifest(json!({ "kind": null }), 0, &public_key_hex(&key));
        let mut csv_manifest = manifest.clone();
        // An empty JSONL export is empty bytes.
        csv_manifest.insert("row_count".into(), json!(0));
        let signed = sign(csv_manifest, &key);
        let bytes = serde_json::to_vec(&signed).unwrap_or_default();
        assert_eq!(
            verify_export(&bytes, data, None).map(|v| v.signer_trusted),
            Ok(false)
        );
        assert_eq!(
            verify_export(&bytes, data, Some(&public_key_hex(&key))).map(|v| v.signer_trusted),
            Ok(true)
        );
        assert!(verify_export(&bytes, data, Some(&public_key_hex(&other))).is_err());
        let tampered = String::from_utf8(bytes)
            .unwrap_or_default()
            .replace("\"until_seq\":0", "\"until_seq\":1");
        assert!(verify_export(tampered.as_bytes(), data, None).is_err());
    }
}
