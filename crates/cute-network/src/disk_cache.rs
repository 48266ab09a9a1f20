//! A disk cache of responses ([`NetworkDiskCache`], Qt's `QNetworkDiskCache`): the store.
//! Each entry is one file in the cache directory, named by a hash of its URL, holding its
//! body, then its metadata (JSON, with the body's length), then the metadata's length (8
//! bytes, little-endian): written in one pass as the body arrives, checked whole when read. When the manager
//! consults it, and what it stores, is `http_cache.rs`'s business.

use std::fs;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use url::Url;

use crate::cache_meta::NetworkCacheMetaData;

/// Qt's default maximum cache size: 50 MiB.
pub const DEFAULT_MAXIMUM_CACHE_SIZE: u64 = 50 * 1024 * 1024;

/// A cache of responses on disk (Qt's `QNetworkDiskCache`): a directory, a maximum size
/// (50 MiB by default, as in Qt) kept by evicting the entries used longest ago. Give it to
/// a manager with [`NetworkAccessManager::set_cache`](crate::NetworkAccessManager::set_cache),
/// which then answers from it and stores in it as Qt does (see there).
///
/// `NetworkDiskCache` is a handle: clones are the same cache. Give each manager its own
/// directory (as Qt requires).
///
/// A cache that cannot write (a full disk, a read-only directory) only loses entries: every
/// method reports failure by its return value, never by a panic, and requests go to the
/// network. An entry whose file was cut short (a crash while writing, a full disk) is
/// not found, never served truncated.
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
#[derive(Debug, Clone)]
pub struct NetworkDiskCache {
    inner: Arc<CacheDir>,
}

#[derive(Debug)]
struct CacheDir {
    directory: PathBuf,
    maximum: AtomicU64,
}

/// An entry being written (Qt's `prepare`d device): write the body into it, then
/// [`commit`](Self::commit) it (Qt's `insert`). Dropped uncommitted, it leaves no trace.
///
/// The body goes to a file beside the entries as it is written, so a large response never
/// sits in memory twice; readers see the entry only once it is committed whole.
#[derive(Debug)]
pub struct CacheWriter {
    cache: NetworkDiskCache,
    url: Url,
    partial: PathBuf,
    file: Option<BufWriter<fs::File>>,
    meta: NetworkCacheMetaData,
    written: u64,
}

impl Write for CacheWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.cache.maximum_cache_size() {
            self.file = None;
            let _ = fs::remove_file(&self.partial);
            return Err(io::Error::other("the entry is bigger than the cache"));
        }
        let file = self.file.as_mut().ok_or_else(|| io::Error::other("the entry was abandoned"))?;
        let n = file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl CacheWriter {
    /// Stores the entry (Qt's `insert`): the metadata, then the body written. Returns false
    /// if it could not be stored; the cache is then as it was.
    #[doc(alias = "insert")]
    pub fn commit(mut self) -> bool {
        let Some(mut file) = self.file.take() else { return false };
        let stored = (|| -> io::Result<()> {
            let meta = self.meta.to_json(self.written).to_string();
            file.write_all(meta.as_bytes())?;
            file.write_all(&(meta.len() as u64).to_le_bytes())?;
            file.flush()?;
            drop(file);
            fs::rename(&self.partial, self.cache.path(&self.url))
        })();
        if let Err(e) = stored {
            log::debug!("cache: not storing {}: {e}", self.url);
            let _ = fs::remove_file(&self.partial);
            return false;
        }
        self.cache.expire();
        true
    }
}

impl Drop for CacheWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// An entry found whole: its metadata, and its body, read only when asked for.
pub(crate) struct Entry {
    pub(crate) meta: NetworkCacheMetaData,
    size: u64,
    file: fs::File,
}

impl Entry {
    /// The body; reading it counts as a use, for eviction.
    pub(crate) fn body(&self) -> Option<Vec<u8>> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0)).ok()?;
        let mut body = Vec::with_capacity(usize::try_from(self.size).ok()?);
        file.take(self.size).read_to_end(&mut body).ok()?;
        let _ = self.file.set_modified(SystemTime::now());
        Some(body)
    }
}

impl NetworkDiskCache {
    /// A cache in `directory` (made when the first entry is written; Qt's
    /// `setCacheDirectory`).
    pub fn new(directory: impl AsRef<Path>) -> Self {
        NetworkDiskCache {
            inner: Arc::new(CacheDir {
                directory: directory.as_ref().to_path_buf(),
                maximum: AtomicU64::new(DEFAULT_MAXIMUM_CACHE_SIZE),
            }),
        }
    }

    /// The cache directory.
    pub fn cache_directory(&self) -> &Path {
        &self.inner.directory
    }

    /// The most the entries may take on disk.
    pub fn maximum_cache_size(&self) -> u64 {
        self.inner.maximum.load(Ordering::Relaxed)
    }

    /// Sets the most the entries may take, evicting at once if they take more.
    pub fn set_maximum_cache_size(&self, size: u64) {
        self.inner.maximum.store(size, Ordering::Relaxed);
        self.expire();
    }

    fn path(&self, url: &Url) -> PathBuf {
        self.inner.directory.join(format!("{}.cache", Self::name(url)))
    }

    fn name(url: &Url) -> String {
        let hash = Sha256::digest(url.as_str().as_bytes());
        hash.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// Starts an entry for `meta` (Qt's `prepare`): `None` if it is not to be saved
    /// (`save_to_disk` false, no URL) or cannot be written.
    pub fn prepare(&self, meta: &NetworkCacheMetaData) -> Option<CacheWriter> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let url = meta.url()?.clone();
        if !meta.save_to_disk() {
            return None;
        }
        let opened = (|| -> io::Result<(PathBuf, fs::File)> {
            fs::create_dir_all(&self.inner.directory)?;
            let unique = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("{}-{}-{unique}.partial", Self::name(&url), std::process::id());
            let partial = self.inner.directory.join(name);
            let file = fs::File::create(&partial)?;
            Ok((partial, file))
        })();
        match opened {
            Ok((partial, file)) => Some(CacheWriter {
                cache: self.clone(),
                url,
                partial,
                file: Some(BufWriter::new(file)),
                meta: meta.clone(),
                written: 0,
            }),
            Err(e) => {
                log::debug!("cache: not storing {url}: {e}");
                None
            }
        }
    }

    /// Stores a response: its metadata and body (Qt's `prepare`, a write and `insert` in
    /// one). Returns false if it was not stored (not to be saved, bigger than the cache, or
    /// the directory cannot be written).
    pub fn insert(&self, meta: &NetworkCacheMetaData, body: &[u8]) -> bool {
        let Some(mut writer) = self.prepare(meta) else { return false };
        writer.write_all(body).is_ok() && writer.commit()
    }

    /// `url`'s entry, checked to be whole: its metadata, and its body still to be read.
    pub(crate) fn entry(&self, url: &Url) -> Option<Entry> {
        let mut file = fs::File::open(self.path(url)).ok()?;
        let length = file.metadata().ok()?.len();
        let mut tail = [0u8; 8];
        file.seek(SeekFrom::Start(length.checked_sub(8)?)).ok()?;
        file.read_exact(&mut tail).ok()?;
        let meta_length = u64::from_le_bytes(tail);
        let meta_start = length.checked_sub(8)?.checked_sub(meta_length)?;
        file.seek(SeekFrom::Start(meta_start)).ok()?;
        let mut meta = Vec::with_capacity(usize::try_from(meta_length).ok()?.min(1 << 20));
        (&mut file).take(meta_length).read_to_end(&mut meta).ok()?;
        let (meta, size) = NetworkCacheMetaData::from_json(&serde_json::from_slice(&meta).ok()?)?;
        // A hash collision, a file from elsewhere, or one cut short: not this URL's entry.
        if meta.url() != Some(url) || size != meta_start {
            return None;
        }
        Some(Entry { meta, size, file })
    }

    /// The metadata of `url`'s entry (Qt's `metaData`).
    #[doc(alias = "metaData")]
    pub fn meta_data(&self, url: &Url) -> Option<NetworkCacheMetaData> {
        self.entry(url).map(|entry| entry.meta)
    }

    /// The body of `url`'s entry (Qt's `data`); reading it counts as a use, for eviction.
    pub fn data(&self, url: &Url) -> Option<Vec<u8>> {
        self.entry(url)?.body()
    }

    /// Replaces the metadata of `url`'s entry, keeping its body (Qt's `updateMetaData`:
    /// after a 304, say). Returns false if there is no entry. The body is not rewritten:
    /// the new metadata replaces the old behind it.
    #[doc(alias = "updateMetaData")]
    pub fn update_meta_data(&self, meta: &NetworkCacheMetaData) -> bool {
        let Some(url) = meta.url() else { return false };
        let Some(Entry { size, .. }) = self.entry(url) else { return false };
        let updated = (|| -> io::Result<()> {
            let mut file = fs::File::options().write(true).open(self.path(url))?;
            // Cut back to the body: until the new metadata is in, readers find no entry.
            file.set_len(size)?;
            file.seek(SeekFrom::End(0))?;
            let json = meta.to_json(size).to_string();
            let mut out = BufWriter::new(&mut file);
            out.write_all(json.as_bytes())?;
            out.write_all(&(json.len() as u64).to_le_bytes())?;
            out.flush()
        })();
        if let Err(e) = &updated {
            log::debug!("cache: not updating {url}: {e}");
            let _ = fs::remove_file(self.path(url));
        }
        updated.is_ok()
    }

    /// Removes `url`'s entry (Qt's `remove`); false if there was none.
    pub fn remove(&self, url: &Url) -> bool {
        self.entry(url).is_some() && fs::remove_file(self.path(url)).is_ok()
    }

    /// Removes every entry (Qt's `clear`), and what writers left behind.
    pub fn clear(&self) {
        for (path, _, _) in self.entries() {
            let _ = fs::remove_file(path);
        }
        let Ok(dir) = fs::read_dir(&self.inner.directory) else { return };
        for entry in dir.flatten() {
            if entry.path().extension().is_some_and(|x| x == "partial") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// What the entries take on disk, in bytes (Qt's `cacheSize`).
    #[doc(alias = "cacheSize")]
    pub fn cache_size(&self) -> u64 {
        self.entries().iter().map(|(_, size, _)| size).sum()
    }

    /// The entry files: path, size, last use.
    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let Ok(dir) = fs::read_dir(&self.inner.directory) else { return Vec::new() };
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
        let maximum = self.maximum_cache_size();
        let mut entries = self.entries();
        let mut size: u64 = entries.iter().map(|(_, s, _)| s).sum();
        if size <= maximum {
            return size;
        }
        let goal = maximum / 10 * 9;
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
    use crate::request::{Attribute, AttributeValue};
    use std::collections::HashMap;
    use std::time::Duration;

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
    fn a_writer_stores_only_when_committed_and_a_cut_entry_is_not_found() {
        let dir = dir("writer");
        let cache = NetworkDiskCache::new(&dir);
        let mut meta = NetworkCacheMetaData::new(url("w"));
        meta.set_attributes(HashMap::from([
            (Attribute::HttpStatusCodeAttribute, AttributeValue::Int(203)),
            (Attribute::HttpReasonPhraseAttribute, AttributeValue::Bytes(b"Non-Authoritative".to_vec())),
        ]));
        meta.varying =
            vec![(b"accept".to_vec(), Some(b"text/plain".to_vec())), (b"accept-encoding".to_vec(), None)];
        let mut writer = cache.prepare(&meta).unwrap();
        writer.write_all(b"part one, ").unwrap();
        assert!(cache.data(&url("w")).is_none(), "not visible before the commit");
        drop(writer);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0, "an abandoned writer leaves nothing");

        let mut writer = cache.prepare(&meta).unwrap();
        writer.write_all(b"part one, ").unwrap();
        writer.write_all(b"part two").unwrap();
        assert!(writer.commit());
        let stored = cache.entry(&url("w")).unwrap();
        assert_eq!(stored.body().unwrap(), b"part one, part two");
        assert_eq!(stored.meta, meta, "attributes and variant kept");

        // Metadata replaced in place, the body untouched.
        let mut updated = meta.clone();
        updated.set_raw_headers(vec![(b"ETag".to_vec(), b"\"2\"".to_vec())]);
        assert!(cache.update_meta_data(&updated));
        let stored = cache.entry(&url("w")).unwrap();
        assert_eq!((stored.meta.clone(), stored.body().unwrap()), (updated, b"part one, part two".to_vec()));

        // A file cut short (a crash while writing) is no entry.
        let path = cache.path(&url("w"));
        let length = fs::metadata(&path).unwrap().len();
        fs::File::options().write(true).open(&path).unwrap().set_len(length - 3).unwrap();
        assert!(cache.meta_data(&url("w")).is_none());
        assert!(cache.data(&url("w")).is_none());

        // Bigger than the cache: the write fails and nothing is left.
        cache.set_maximum_cache_size(16);
        let mut writer = cache.prepare(&NetworkCacheMetaData::new(url("big"))).unwrap();
        assert!(writer.write_all(&[0; 17]).is_err());
        assert!(!writer.commit());
        cache.clear();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
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
