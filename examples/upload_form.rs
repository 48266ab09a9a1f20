//! An HTML form upload, as a PyQt script does it with QHttpMultiPart: a text field and a
//! file part read from disk as it is sent, with upload progress, then the server's echo.
//!
//!     cargo run --example upload_form -- http://127.0.0.1:8080/post some-file.txt
//!
//! For the 127.0.0.1:8080 URL, start a local server first: `cargo run -p cute-httpbin -- --port 8080`.
//! Without a file argument, the example uploads its own source.

use cute::CoreApplication;
use cute::network::{
    HttpMultiPart, HttpPart, KnownHeaders, MultiPartType, NetworkAccessManager, NetworkError, NetworkReply,
    NetworkRequest, RequestBody, UrlExt,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "https://httpbin.org/post".to_owned());
    let path = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/upload_form.rs").to_owned());
    let app = CoreApplication::new();

    // multi_part = QHttpMultiPart(QHttpMultiPart.ContentType.FormDataType)
    let mut multi_part = HttpMultiPart::new(MultiPartType::FormDataType);

    // text_part.setHeader(ContentDispositionHeader, 'form-data; name="text"'); text_part.setBody(b"my text")
    let mut text_part = HttpPart::new();
    text_part.set_header(KnownHeaders::ContentDispositionHeader, r#"form-data; name="text""#);
    text_part.set_body("my text");
    multi_part.append(text_part);

    // file_part.setBodyDevice(QFile(path)): read from disk as it is sent
    let file = match RequestBody::from_file(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("cannot open {path}: {e}");
            std::process::exit(2);
        }
    };
    let name = cute::network::Url::from_file_path(std::fs::canonicalize(&path).unwrap_or_default())
        .map(|url| url.file_name())
        .unwrap_or_else(|()| "upload.bin".to_owned());
    let mut file_part = HttpPart::new();
    file_part.set_header(KnownHeaders::ContentTypeHeader, "application/octet-stream");
    file_part.set_header(
        KnownHeaders::ContentDispositionHeader,
        format!(r#"form-data; name="file"; filename="{name}""#),
    );
    file_part.set_body_device(file);
    multi_part.append(file_part);

    let nam = NetworkAccessManager::new();
    let reply = nam.post(&NetworkRequest::new(url.as_str()), multi_part);
    reply.upload_progress().connect(|&(sent, total)| match total {
        Some(total) => println!("sent {sent} of {total} bytes"),
        None => println!("sent {sent} bytes"),
    });
    reply.finished().connect(move |reply: &NetworkReply| {
        if reply.error() != NetworkError::NoError {
            println!("Error occurred: {}", reply.error());
            println!("{}", reply.error_string());
            CoreApplication::exit(1);
            return;
        }
        match reply.read_json::<serde_json::Value>() {
            Ok(json) => {
                println!("form: {}", json["form"]);
                let sizes: Vec<String> = json["files"]
                    .as_object()
                    .map(|files| {
                        files
                            .iter()
                            .map(|(k, v)| format!("{k} ({} bytes)", v.as_str().map_or(0, str::len)))
                            .collect()
                    })
                    .unwrap_or_default();
                println!("files: {}", sizes.join(", "));
                CoreApplication::quit();
            }
            Err(e) => {
                eprintln!("Error: the server did not answer JSON: {e}");
                CoreApplication::exit(1);
            }
        }
    });
    std::process::exit(app.exec());
}
