//! A disk cache of responses ([`NetworkDiskCache`], Qt's `QNetworkDiskCache`): the store.
//! Each entry is one file in the cache directory, named by a hash of its URL, holding its
//! metadata (a JSON line) and then its body. The manager does not consult it yet.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

/// Qt's default maximum cache size: 50 MiB.
pub const DEFAULT_MAXIMUM_CACHE_SIZE: u64 = 50 * 1024 * 1024;

/// What a cache keeps about a response beside its body (Qt's `QNetworkCacheMetaData`).
#[doc(alias = "QNetworkCacheMetaData")]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkCacheMetaData {
    url: Option<Url>,
    raw_headers: Vec<(Vec<u8>, Vec<u8>)>,
    last_modified: Option<SystemTime>,
    expiration_date: Option<SystemTime>,
    save_to_disk: bool,
}

impl NetworkCacheMetaData {
    /// Metadata for `url`, to be saved to disk.
    pub fn new(url: Url) -> Self {
        NetworkCacheMetaData { url: Some(url), save_to_disk: true, ..Self::default() }
    }

    /// The URL the entry is for.
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }

    /// Whether it has a URL (Qt's `isValid`).
    pub fn is_valid(&self) -> bool {
        self.url.is_some()
    }

    /// The response headers kept.
    pub fn raw_headers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.raw_headers
    }

    /// Sets the response headers kept.
    pub fn set_raw_headers(&mut self, headers: Vec<(Vec<u8>, Vec<u8>)>) {
        self.raw_headers = headers;
    }

    /// The response's `Last-Modified`.
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified
    }

    /// Sets the response's `Last-Modified`.
    pub fn set_last_modified(&mut self, at: Option<SystemTime>) {
        self.last_modified = at;
    }

    /// When the entry stops being fresh.
    pub fn expiration_date(&self) -> Option<SystemTime> {
        self.expiration_date
    }

    /// Sets when the entry stops being fresh.
    pub fn set_expiration_date(&mut self, at: Option<SystemTime>) {
        self.expiration_date = at;
    }

    /// Whether the entry may be written to disk (Qt's `saveToDisk`).
    pub fn save_to_disk(&self) -> bool {
        self.save_to_disk
    }

    /// Sets whether the entry may be written to disk.
    pub fn set_save_to_disk(&mut self, save: bool) {
        self.save_to_disk = save;
    }

    fn to_json(&self) -> Value {
        let secs =
            |at: Option<SystemTime>| at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
        let bytes = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        json!({
            "url": self.url.as_ref().map(Url::as_str),
            "headers": self.raw_headers.iter().map(|(n, v)| [bytes(n), bytes(v)]).collect::<Vec<_>>(),
            "last_modified": secs(self.last_modified),
            "expires": secs(self.expiration_date),
        })
    }

    fn from_json(value: &Value) -> Option<Self> {
        let time =
            |key: &str| value.get(key).and_then(Value::as_u64).map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let headers = value
            .get("headers")?
            .as_array()?
            .iter()
            .filter_map(|pair| {
                let pair = pair.as_array()?;
                Some((
                    pair.first()?.as_str()?.as_bytes().to_vec(),
                    pair.get(1)?.as_str()?.as_bytes().to_vec(),
                ))
            })
            .collect();
        Some(NetworkCacheMetaData {
            url: Url::parse(value.get("url")?.as_str()?).ok(),
            raw_headers: headers,
            last_modified: time("last_modified"),
            expiration_date: time("expires"),
            save_to_disk: true,
        })
    }
}

/// A cache of responses on disk (Qt's `QNetworkDiskCache`): a directory, a maximum size
/// (50 MiB by default, as in Qt) kept by evicting the entries used longest ago.
///
/// A cache that cannot write (a full disk, a read-only directory) only loses entries: every
/// method reports failure by its return value, never by a panic.
///
/// This is the store; the manager does not use it for requests yet (planned: Qt's HTTP
/// caching semantics and `CacheLoadControlAttribute`).
///
/// # Examples
///
/// ```
/// use cute_network::{NetworkCacheMetaData, NetworkDiskCache, Url};
///
/// let dir = std::env::temp_dir().join(format!("cute-doc-cache-{}", std::process::id()));
/// let cache = NetworkDiskCache::new(&dir);
/// let url = Url::parse("https://example.com/logo.png").unwrap();
/// assert!(cache.insert(&NetworkCacheMetaData::new(url.clone()), b"PNG..."));
/// assert_eq!(cache.data(&url).as_deref(), Some(&b"PNG..."[..]));
/// assert!(cache.cache_size() > 0);
/// cache.clear();
/// assert!(cache.data(&url).is_none());
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[doc(alias = "QNetworkDiskCache")]
#[derive(Debug)]
pub struct NetworkDiskCache {
    directory: PathBuf,
    maximum: std::cell::Cell<u64>,
}

impl NetworkDiskCache {
    /// A cache in `directory` (made when the first entry is written; Qt's
    /// `setCacheDirectory`).
    pub fn new(directory: impl AsRef<Path>) -> Self {
        NetworkDiskCache {
            directory: directory.as_ref().to_path_buf(),
            maximum: std::cell::Cell::new(DEFAULT_MAXIMUM_CACHE_SIZE),
        }
    }

    /// The cache directory.
    pub fn cache_directory(&self) -> &Path {
        &self.directory
    }

    /// The most the entries may take on disk.
    pub fn maximum_cache_size(&self) -> u64 {
        self.maximum.get()
    }

    /// Sets the most the entries may take, evicting at once if they take more.
    pub fn set_maximum_cache_size(&self, size: u64) {
        self.maximum.set(size);
        self.expire();
    }

    fn path(&self, url: &Url) -> PathBuf {
        let hash = Sha256::digest(url.as_str().as_bytes());
        let name: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.directory.join(format!("{name}.cache"))
    }

    /// Stores a response (Qt's `prepare` and `insert` in one): its metadata and body.
    /// Returns false if it was not stored (not to be saved, bigger than the cache, or the
    /// directory cannot be written).
    pub fn insert(&self, meta: &NetworkCacheMetaData, body: &[u8]) -> bool {
        let Some(url) = meta.url() else { return false };
        let header = meta.to_json().to_string();
        if !meta.save_to_disk() || (header.len() + 1 + body.len()) as u64 > self.maximum.get() {
            return false;
        }
        let written = (|| -> io::Result<()> {
            fs::create_dir_all(&self.directory)?;
            // Written aside, then renamed: a reader never sees half an entry.
            let path = self.path(url);
            let partial = path.with_extension("partial");
            let mut file = fs::File::create(&partial)?;
            file.write_all(header.as_bytes())?;
            file.write_all(b"\n")?;
            file.write_all(body)?;
            file.sync_data()?;
            fs::rename(&partial, &path)
        })();
        if let Err(e) = written {
            log::debug!("cache: not storing {url}: {e}");
            return false;
        }
        self.expire();
        true
    }

    fn open(&self, url: &Url) -> Option<(NetworkCacheMetaData, BufReader<fs::File>)> {
        let mut reader = BufReader::new(fs::File::open(self.path(url)).ok()?);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let meta = NetworkCacheMetaData::from_json(&serde_json::from_str(&line).ok()?)?;
        // A hash collision, or a file from elsewhere: not this URL's entry.
        (meta.url() == Some(url)).then_some((meta, reader))
    }

    /// The metadata of `url`'s entry (Qt's `metaData`).
    #[doc(alias = "metaData")]
    pub fn meta_data(&self, url: &Url) -> Option<NetworkCacheMetaData> {
        self.open(url).map(|(meta, _)| meta)
    }

    /// The body of `url`'s entry (Qt's `data`); reading it counts as a use, for eviction.
    pub fn data(&self, url: &Url) -> Option<Vec<u8>> {
        let (_, mut reader) = self.open(url)?;
        let mut body = Vec::new();
        reader.read_to_end(&mut body).ok()?;
        let _ = reader.get_ref().set_modified(SystemTime::now());
        Some(body)
    }

    /// Replaces the metadata of `url`'s entry, keeping its body (Qt's `updateMetaData`:
    /// after a 304, say). Returns false if there is no entry.
    #[doc(alias = "updateMetaData")]
    pub fn update_meta_data(&self, meta: &NetworkCacheMetaData) -> bool {
        let Some(url) = meta.url() else { return false };
        match self.data(url) {
            Some(body) => self.insert(meta, &body),
            None => false,
        }
    }

    /// Removes `url`'s entry (Qt's `remove`); false if there was none.
    pub fn remove(&self, url: &Url) -> bool {
        self.open(url).is_some() && fs::remove_file(self.path(url)).is_ok()
    }

    /// Removes every entry (Qt's `clear`).
    pub fn clear(&self) {
        for (path, _, _) in self.entries() {
            let _ = fs::remove_file(path);
        }
    }

    /// What the entries take on disk, in bytes (Qt's `cacheSize`).
    #[doc(alias = "cacheSize")]
    pub fn cache_size(&self) -> u64 {
        self.entries().iter().map(|(_, size, _)| size).sum()
    }

    /// The entry files: path, size, last use.
    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let Ok(dir) = fs::read_dir(&self.directory) else { return Vec::new() };
        dir.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cache"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((e.path(), meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)))
            })
            .collect()
    }

    /// Evicts the entries used longest ago until the rest take at most 90 % of the maximum
    /// (Qt's `expire`, which leaves the same room); returns what they take then.
    pub fn expire(&self) -> u64 {
        let mut entries = self.entries();
        let mut size: u64 = entries.iter().map(|(_, s, _)| s).sum();
        if size <= self.maximum.get() {
            return size;
        }
        let goal = self.maximum.get() / 10 * 9;
        entries.sort_by_key(|(_, _, used)| *used);
        for (path, entry, _) in entries {
            if size <= goal {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                size -= entry;
            }
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cute-cache-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn url(path: &str) -> Url {
        Url::parse(&format!("https://example.com/{path}")).unwrap()
    }

    #[test]
    fn entries_keep_their_metadata_and_body() {
        let dir = dir("meta");
        let cache = NetworkDiskCache::new(&dir);
        let mut meta = NetworkCacheMetaData::new(url("a"));
        meta.set_raw_headers(vec![(b"ETag".to_vec(), b"\"v1\"".to_vec())]);
        let expires = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        meta.set_expiration_date(Some(expires));
        assert!(cache.insert(&meta, b"body one"));
        assert_eq!(cache.meta_data(&url("a")), Some(meta.clone()));
        assert_eq!(cache.data(&url("a")).as_deref(), Some(&b"body one"[..]));
        assert!(cache.data(&url("b")).is_none());

        meta.set_raw_headers(vec![(b"ETag".to_vec(), b"\"v2\"".to_vec())]);
        assert!(cache.update_meta_data(&meta));
        assert_eq!(cache.meta_data(&url("a")).unwrap().raw_headers()[0].1, b"\"v2\"");
        assert_eq!(cache.data(&url("a")).as_deref(), Some(&b"body one"[..]), "the body stays");

        let mut unsaved = NetworkCacheMetaData::new(url("c"));
        unsaved.set_save_to_disk(false);
        assert!(!cache.insert(&unsaved, b"x"));
        assert!(cache.remove(&url("a")));
        assert!(!cache.remove(&url("a")));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_maximum_size_evicts_the_entries_used_longest_ago() {
        let dir = dir("evict");
        let cache = NetworkDiskCache::new(&dir);
        cache.set_maximum_cache_size(10_000);
        let body = vec![7u8; 3_000];
        for (i, name) in ["old", "mid", "new"].iter().enumerate() {
            assert!(cache.insert(&NetworkCacheMetaData::new(url(name)), &body));
            // Distinct last-use times, oldest first.
            let path = cache.path(&url(name));
            let used = SystemTime::now() - Duration::from_secs(100 - i as u64 * 10);
            fs::File::options().write(true).open(&path).unwrap().set_modified(used).unwrap();
        }
        assert!(cache.cache_size() <= 10_000);
        assert!(cache.insert(&NetworkCacheMetaData::new(url("newest")), &body), "a fourth entry");
        assert!(cache.cache_size() <= 9_000, "down to 90 %: {}", cache.cache_size());
        assert!(cache.data(&url("old")).is_none(), "the entry used longest ago went first");
        assert!(cache.data(&url("newest")).is_some());
        assert!(
            !cache.insert(&NetworkCacheMetaData::new(url("huge")), &vec![0; 20_000]),
            "bigger than the cache"
        );
        cache.clear();
        assert_eq!(cache.cache_size(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_cache_that_cannot_write_loses_entries_without_failing() {
        // A file where the directory should be: nothing can be written under it.
        let dir = dir("blocked");
        fs::write(&dir, b"not a directory").unwrap();
        let cache = NetworkDiskCache::new(&dir);
        assert!(!cache.insert(&NetworkCacheMetaData::new(url("a")), b"body"));
        assert!(cache.data(&url("a")).is_none());
        assert_eq!(cache.cache_size(), 0);
        cache.clear();
        fs::remove_file(&dir).unwrap();
    }
}
