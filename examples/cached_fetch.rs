//! A disk cache in front of the network, as a PyQt script sets one up with
//! QNetworkDiskCache: the page is fetched twice; the second answer comes from the cache
//! while the server says it is fresh, and a second run of the program (a restart) finds it
//! there still.
//!
//!     cargo run --example cached_fetch -- http://127.0.0.1:8080/cache/60 [cache-directory]
//!
//! For the 127.0.0.1:8080 URL, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.

use std::cell::Cell;
use std::rc::Rc;

use cute::CoreApplication;
use cute::network::{
    Attribute, NetworkAccessManager, NetworkDiskCache, NetworkError, NetworkReply, NetworkRequest,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "https://httpbin.org/cache/60".to_owned());
    let directory =
        args.next().map_or_else(|| std::env::temp_dir().join("cute-cached-fetch"), std::path::PathBuf::from);
    let app = CoreApplication::new();

    // cache = QNetworkDiskCache(); cache.setCacheDirectory(directory); nam.setCache(cache)
    let nam = NetworkAccessManager::new();
    let cache = NetworkDiskCache::new(&directory);
    cache.set_maximum_cache_size(10 * 1024 * 1024);
    nam.set_cache(Some(cache.clone()));

    let fetched = Rc::new(Cell::new(0));
    let again = nam.downgrade();
    let request = NetworkRequest::new(url.as_str());
    nam.finished().connect(move |reply: &NetworkReply| {
        if reply.error() != NetworkError::NoError {
            println!("Error occurred: {}", reply.error());
            println!("{}", reply.error_string());
            CoreApplication::exit(1);
            return;
        }
        // reply.attribute(QNetworkRequest.Attribute.SourceIsFromCacheAttribute)
        let from_cache = reply.attribute(Attribute::SourceIsFromCacheAttribute).and_then(|v| v.as_bool());
        let source = if from_cache == Some(true) { "cache" } else { "network" };
        let status = reply.status_code().unwrap_or(0);
        println!("from {source}: status {status}, {} bytes", reply.read_all().len());
        fetched.set(fetched.get() + 1);
        match again.upgrade() {
            Some(nam) if fetched.get() < 2 => {
                nam.get(&request);
            }
            _ => {
                println!("cache: {} bytes in {}", cache.cache_size(), cache.cache_directory().display());
                CoreApplication::quit();
            }
        }
    });
    nam.get(&NetworkRequest::new(url.as_str()));
    std::process::exit(app.exec());
}
