//! `tidings shim`: accepts IMAP clients on TCP (optionally implicit TLS) and relays each one
//! over a WebSocket to the browser page hosting the engine; also serves that page over HTTP.

pub mod client;
pub mod frame;
pub mod http;
pub mod hub;
pub mod page;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use self::http::{read_head, respond, serve_file, HeadError, Prefixed, WebRoot};
use self::hub::Hub;

/// How long a peer may take to send an HTTP request head or finish a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of `tidings shim`.
#[derive(clap::Args, Debug)]
pub struct ShimArgs {
    /// Where IMAP clients connect (plain TCP; port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:2143")]
    pub imap: SocketAddr,
    /// Also accept implicit-TLS IMAP here (TLS ends at the shim).
    #[arg(long)]
    pub imaps: Option<SocketAddr>,
    /// Where the page is served (HTTP) and connects back (WebSocket, path /shim).
    #[arg(long, default_value = "127.0.0.1:8143")]
    pub http: SocketAddr,
    /// Directory holding www/ (the page) and pkg/ (the wasm-bindgen output).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../web-demo"))]
    pub web_root: PathBuf,
    /// PEM certificate for --imaps (default: the dev certificate in the data dir).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --imaps.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where a dev certificate is made for --imaps when none is given.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Runs the shim until SIGTERM or Ctrl-C.
pub fn run(args: ShimArgs) -> Result<()> {
    let tls = match args.imaps {
        None => None,
        Some(_) => Some(tls_acceptor(&args)?),
    };
    let root = WebRoot::under(&args.web_root);
    if !root.www.join("index.html").is_file() {
        tracing::warn!(dir = %root.www.display(), "no index.html here: pass --web-root");
    }
    if !root.pkg.join("tidings_web.js").is_file() {
        println!(
            "note: {} has no wasm build yet; run web-demo/build.sh",
            root.pkg.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, root, tls))
}

fn tls_acceptor(args: &ShimArgs) -> Result<TlsAcceptor> {
    let (cert, key) = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(|| crate::config::Config::default().data_dir);
            let (c, k) = crate::tls::dev_cert_paths(&dir);
            if crate::tls::ensure_dev_cert(&c, &k)? {
                println!("created a self-signed dev certificate: {}", c.display());
            }
            (c, k)
        }
    };
    Ok(TlsAcceptor::from(crate::tls::server_config(&cert, &key)?))
}

async fn serve(args: ShimArgs, root: WebRoot, tls: Option<TlsAcceptor>) -> Result<()> {
    let http = bind(args.http).await?;
    let imap = bind(args.imap).await?;
    let imaps = match args.imaps {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let http_addr = http.local_addr()?;
    let imap_addr = imap.local_addr()?;
    let imaps_addr = imaps.as_ref().map(|l| l.local_addr()).transpose()?;
    let url: Arc<str> = format!("http://{http_addr}/").into();
    let hello: Arc<str> = format!(
        r#"{{"shim":"tidings {}","imap":"{imap_addr}","imaps":{}}}"#,
        env!("CARGO_PKG_VERSION"),
        imaps_addr.map_or("null".to_string(), |a| format!("\"{a}\""))
    )
    .into();
    // Machine-readable lines: tests and scripts read the real ports from them.
    println!("listening imap {imap_addr}");
    if let Some(a) = imaps_addr {
        println!("listening imaps {a}");
    }
    println!("listening http {url}");
    println!("open {url} in a browser, then point an IMAP client at {imap_addr} (demo / demo)");

    let hub = Arc::new(Hub::default());
    let root = Arc::new(root);
    let mut tasks = vec![
        tokio::spawn(accept_http(http, hub.clone(), root, hello)),
        tokio::spawn(accept_imap(imap, None, hub.clone(), url.clone())),
    ];
    if let Some(l) = imaps {
        tasks.push(tokio::spawn(accept_imap(l, tls, hub.clone(), url)));
    }
    crate::server::wait_for_signal().await;
    tracing::info!("shutting down");
    for t in &tasks {
        t.abort();
    }
    // Clients get their BYE from the relay tasks, which need a moment.
    hub.detach_any();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

async fn accept_loop<F>(listener: TcpListener, mut each: F)
where
    F: FnMut(TcpStream, SocketAddr),
{
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                each(stream, peer);
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn accept_imap(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    hub: Arc<Hub>,
    url: Arc<str>,
) {
    accept_loop(listener, |stream, peer| {
        let (hub, url, tls) = (hub.clone(), url.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => client::relay(stream, peer, false, hub, url).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => client::relay(s, peer, true, hub, url).await,
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    })
    .await
}

async fn accept_http(listener: TcpListener, hub: Arc<Hub>, root: Arc<WebRoot>, hello: Arc<str>) {
    accept_loop(listener, |stream, peer| {
        let (hub, root, hello) = (hub.clone(), root.clone(), hello.clone());
        tokio::spawn(async move { http_connection(stream, peer, hub, root, hello).await });
    })
    .await
}

/// One HTTP connection: a page load (one file) or the page's WebSocket.
async fn http_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    hub: Arc<Hub>,
    root: Arc<WebRoot>,
    hello: Arc<str>,
) {
    let (head, buf) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(x)) => x,
        Ok(Err(HeadError::TooLarge)) => {
            let _ = respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"",
                true,
            )
            .await;
            return;
        }
        Ok(Err(HeadError::Malformed)) => {
            let _ = respond(
                &mut stream,
                "400 Bad Request",
                "text/plain",
                b"not HTTP\n",
                true,
            )
            .await;
            return;
        }
        Ok(Err(HeadError::Io(e))) => {
            tracing::debug!(%peer, error = %e, "http connection ended before a request");
            return;
        }
        Err(_) => return,
    };
    tracing::debug!(%peer, method = %head.method, target = %head.target, "http request");
    if head.is_websocket() {
        if let Err((status, msg)) = page::check_upgrade(&head) {
            tracing::info!(%peer, %status, "WebSocket refused: {}", msg.trim_end());
            let _ = respond(
                &mut stream,
                status,
                "text/plain; charset=utf-8",
                msg.as_bytes(),
                true,
            )
            .await;
            return;
        }
        page::serve_page(Prefixed::new(buf, stream), hub, hello).await;
    } else if let Err(e) = serve_file(&mut stream, &head, &root).await {
        tracing::debug!(%peer, error = %e, "http response failed");
    }
}
