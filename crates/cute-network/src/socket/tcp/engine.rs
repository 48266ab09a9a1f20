//! The socket's engine (private): connecting address by address, reading and writing as
//! the poller reports readiness, and the state changes and signals that follow.

use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use cute_core::mio::{Interest, net::TcpStream};
use cute_core::{IoWatcher, Readiness, Timer};

use super::{Conn, READ_CHUNK, TcpSocket, upgrade};

/// How a read ended.
pub(super) enum ReadEnd {
    /// The connection is open: the kernel has no more for now (or the read limit is met).
    Open,
    /// The peer closed it (TCP's end, or TLS's close_notify).
    Closed,
    Failed(io::Error),
    /// The TLS session failed, during the handshake or after it.
    Tls {
        error: rustls::Error,
        handshaking: bool,
    },
}
use crate::socket::kinds::{SocketError, SocketState};

impl TcpSocket {
    /// The lookup finished.
    pub(super) fn resolved(&self) {
        let Some(lookup) = self.inner.lookup.borrow_mut().take() else { return };
        if self.state() != SocketState::HostLookupState {
            return;
        }
        match lookup.take_result() {
            Some(Ok(found)) if !found.is_empty() => {
                self.inner.addresses.borrow_mut().extend(found);
                self.emit(|s| &s.host_found, self);
                if self.state() == SocketState::HostLookupState {
                    self.connect_next();
                }
            }
            _ => self.connect_failed(SocketError::HostNotFoundError, "Host not found".to_owned()),
        }
    }

    /// Starts connecting to the next address, or fails if none is left.
    pub(super) fn connect_next(&self) {
        loop {
            let Some(address) = self.inner.addresses.borrow_mut().pop_front() else {
                let text = "Connection refused".to_owned();
                return self.connect_failed(SocketError::ConnectionRefusedError, text);
            };
            let started = TcpStream::connect(address)
                .and_then(|stream| self.attach(stream, Interest::READABLE | Interest::WRITABLE));
            match started {
                Ok(()) => {
                    if self.state() != SocketState::ConnectingState {
                        self.set_state(SocketState::ConnectingState);
                    }
                    return;
                }
                Err(e) if self.inner.addresses.borrow().is_empty() => {
                    let (error, text) = SocketError::of(&e);
                    return self.connect_failed(error, text);
                }
                Err(_) => continue,
            }
        }
    }

    /// Registers `stream` with the loop.
    pub(super) fn attach(&self, mut stream: TcpStream, interest: Interest) -> io::Result<()> {
        let weak = Rc::downgrade(&self.inner);
        let watcher = IoWatcher::new(&mut stream, interest, move |ready| {
            if let Some(socket) = upgrade(&weak) {
                socket.on_ready(ready);
            }
        })?;
        *self.inner.conn.borrow_mut() = Some(Conn { stream, watcher, interest });
        Ok(())
    }

    pub(super) fn on_ready(&self, ready: Readiness) {
        if self.inner.reconnecting.get() {
            return self.on_connecting(ready);
        }
        match self.state() {
            SocketState::ConnectingState => self.on_connecting(ready),
            SocketState::ConnectedState | SocketState::ClosingState => {
                if ready.writable || ready.write_closed {
                    self.flush();
                }
                // The flush may have ended the connection (and a slot started another).
                if (ready.readable || ready.read_closed || ready.error) && self.is_live() {
                    self.read_some();
                }
            }
            _ => {}
        }
    }

    /// The connection attempt has news: made, or failed (then the next address).
    pub(super) fn on_connecting(&self, ready: Readiness) {
        let outcome = {
            let conn = self.inner.conn.borrow();
            let Some(conn) = conn.as_ref() else { return };
            match conn.stream.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => match conn.stream.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e)
                        if e.kind() == io::ErrorKind::NotConnected && !ready.error && !ready.write_closed =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(e),
                },
            }
        };
        match outcome {
            Ok(false) => {}
            Ok(true) if self.inner.reconnecting.replace(false) => {
                // Connected again, to try the handshake ignoring what the application said.
                self.set_interest();
                self.start_tls_session();
            }
            Ok(true) => {
                self.set_interest();
                self.set_state(SocketState::ConnectedState);
                if self.state() != SocketState::ConnectedState {
                    return;
                }
                self.emit(|s| &s.connected, self);
                if self.state() == SocketState::ConnectedState {
                    // `connect_to_host_encrypted`: the handshake starts now.
                    if self.inner.tls.borrow().as_ref().is_some_and(|t| t.pending_client()) {
                        self.start_tls_session();
                    }
                    self.flush();
                    self.read_some();
                }
            }
            Err(e) if self.inner.reconnecting.replace(false) => self.connection_failed(&e),
            Err(e) => {
                self.inner.conn.borrow_mut().take();
                if self.inner.addresses.borrow().is_empty() {
                    let (error, text) = SocketError::of(&e);
                    self.connect_failed(error, text);
                } else {
                    self.connect_next();
                }
            }
        }
    }

    /// Watches for writability only while there is something to write.
    pub(super) fn set_interest(&self) {
        let tls_wants = self.inner.tls.borrow().as_ref().is_some_and(|t| t.wants_write());
        let wanted = if self.inner.write.borrow().is_empty() && !tls_wants {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let mut conn = self.inner.conn.borrow_mut();
        if let Some(conn) = conn.as_mut()
            && conn.interest != wanted
        {
            if let Err(e) = conn.watcher.reregister(&mut conn.stream, wanted) {
                log::debug!("cute: socket interest: {e}");
            }
            conn.interest = wanted;
        }
    }

    /// Reads what the kernel has (up to the read limit), then emits `ready_read`.
    pub(super) fn read_some(&self) {
        if self.inner.paused.get() {
            return;
        }
        if self.inner.tls.borrow().as_ref().is_some_and(|t| t.has_session()) {
            return self.tls_read();
        }
        let mut got = false;
        let mut end: Option<io::Result<()>> = None;
        {
            let mut conn = self.inner.conn.borrow_mut();
            let Some(conn) = conn.as_mut() else { return };
            let mut read = self.inner.read.borrow_mut();
            loop {
                let limit = self.inner.read_limit.get();
                let room =
                    if limit == 0 { READ_CHUNK } else { limit.saturating_sub(read.len()).min(READ_CHUNK) };
                if room == 0 {
                    self.inner.paused.set(true);
                    break;
                }
                let mut chunk = vec![0u8; room];
                match conn.stream.read(&mut chunk) {
                    Ok(0) => {
                        end = Some(Ok(()));
                        break;
                    }
                    Ok(n) => {
                        chunk.truncate(n);
                        read.push(chunk);
                        got = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        end = Some(Err(e));
                        break;
                    }
                }
            }
        }
        let end = match end {
            None => ReadEnd::Open,
            Some(Ok(())) => ReadEnd::Closed,
            Some(Err(e)) => ReadEnd::Failed(e),
        };
        self.after_read(got, end);
    }

    /// After a read, plain or through TLS: `ready_read` for new data, then the end the read
    /// met, unless a `ready_read` slot closed the socket meanwhile (or made another
    /// connection: the end was the old one's).
    pub(super) fn after_read(&self, got: bool, end: ReadEnd) {
        if got {
            self.emit_ready_read();
        }
        if !self.is_live() {
            return;
        }
        match end {
            ReadEnd::Open => {}
            ReadEnd::Closed => {
                self.end_with(SocketError::RemoteHostClosedError, "The remote host closed the connection");
            }
            ReadEnd::Failed(e) => self.connection_failed(&e),
            ReadEnd::Tls { error, handshaking } => self.tls_error(&error, handshaking),
        }
    }

    /// Whether a connection is up (connected, or closing once written).
    pub(super) fn is_live(&self) -> bool {
        matches!(self.state(), SocketState::ConnectedState | SocketState::ClosingState)
    }

    pub(super) fn emit_ready_read(&self) {
        if self.inner.in_ready_read.replace(true) {
            return;
        }
        self.emit(|s| &s.ready_read, self);
        self.inner.in_ready_read.set(false);
    }

    /// The connection broke: the error, then the end.
    pub(super) fn connection_failed(&self, e: &io::Error) {
        let (error, text) = SocketError::of(e);
        self.end_with(error, &text);
    }

    /// Reports `error` (`error_occurred`), then ends the connection, unless a slot did
    /// already (`abort`) or made another (`connect_to_host`).
    pub(super) fn end_with(&self, error: SocketError, text: &str) {
        self.set_error(error, text);
        self.emit(|s| &s.error_occurred, &error);
        if self.is_live() {
            self.close_now(true);
        }
    }

    /// Writes what is buffered, as far as the kernel takes it.
    pub(super) fn flush(&self) {
        if self.inner.tls.borrow().as_ref().is_some_and(|t| t.has_session()) {
            return self.tls_flush();
        }
        let mut written = 0u64;
        let mut failure = None;
        {
            let mut conn = self.inner.conn.borrow_mut();
            let Some(conn) = conn.as_mut() else { return };
            let mut write = self.inner.write.borrow_mut();
            while !write.is_empty() {
                match conn.stream.write(write.front()) {
                    Ok(n) => {
                        write.consume(n);
                        written += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failure {
            return self.connection_failed(&e);
        }
        self.report(written);
        self.set_interest();
        if self.inner.closing.get() && self.inner.write.borrow().is_empty() {
            self.close_now(true);
        }
    }

    /// Counts bytes written, for a `bytes_written` from the loop (only if anyone listens).
    pub(super) fn report(&self, written: u64) {
        let listening = self.inner.signals.get().is_some_and(|s| s.bytes_written.receivers() > 0);
        if written == 0 || !listening {
            return;
        }
        if self.inner.unreported.replace(self.inner.unreported.get() + written) > 0 {
            return; // one is scheduled
        }
        let weak = Rc::downgrade(&self.inner);
        Timer::single_shot(Duration::ZERO, move || {
            if let Some(socket) = upgrade(&weak) {
                let n = socket.inner.unreported.replace(0);
                socket.emit(|s| &s.bytes_written, &n);
            }
        });
    }

    /// Reading paused at the read limit and there is room again: read on, from the loop.
    pub(super) fn resume_reading(&self) {
        let limit = self.inner.read_limit.get();
        if !self.inner.paused.get() || (limit != 0 && self.inner.read.borrow().len() >= limit) {
            return;
        }
        self.inner.paused.set(false);
        let weak = Rc::downgrade(&self.inner);
        Timer::single_shot(Duration::ZERO, move || {
            if let Some(socket) = upgrade(&weak) {
                socket.read_some();
            }
        });
    }

    /// Ends the connection now: the state goes to unconnected (through closing), and
    /// `disconnected` is emitted if it was connected.
    pub(super) fn close_now(&self, was_connected: bool) {
        let conn = self.inner.conn.borrow_mut().take();
        drop(conn);
        self.inner.reconnecting.set(false);
        if let Some(tls) = self.inner.tls.borrow_mut().as_mut() {
            tls.connection_ended();
        }
        self.inner.closing.set(false);
        self.inner.paused.set(false);
        self.inner.write.borrow_mut().clear();
        if was_connected && self.state() != SocketState::ClosingState {
            self.set_state(SocketState::ClosingState);
        }
        self.set_state(SocketState::UnconnectedState);
        if was_connected {
            self.emit(|s| &s.disconnected, self);
        }
    }

    /// A connection attempt failed for good: unconnected, then the error (Qt's order).
    pub(super) fn connect_failed(&self, error: SocketError, text: String) {
        self.inner.conn.borrow_mut().take();
        if let Some(tls) = self.inner.tls.borrow_mut().as_mut() {
            tls.connection_ended();
        }
        self.inner.closing.set(false);
        self.inner.addresses.borrow_mut().clear();
        self.set_error(error, &text);
        self.set_state(SocketState::UnconnectedState);
        self.emit(|s| &s.error_occurred, &error);
    }

    /// Reports an error from the loop, never inside the call that caused it.
    pub(super) fn fail_soon(&self, error: SocketError, text: &str) {
        self.set_error(error, text);
        let weak = Rc::downgrade(&self.inner);
        Timer::single_shot(Duration::ZERO, move || {
            if let Some(socket) = upgrade(&weak) {
                socket.emit(|s| &s.error_occurred, &error);
            }
        });
    }

    pub(super) fn set_error(&self, error: SocketError, text: &str) {
        self.inner.error.set(error);
        *self.inner.error_string.borrow_mut() = text.to_owned();
    }

    pub(super) fn set_state(&self, state: SocketState) {
        if self.inner.state.replace(state) != state {
            self.emit(|s| &s.state_changed, &state);
        }
    }

    /// Forgets the previous connection's leftovers before a new one.
    pub(super) fn reset(&self) {
        self.inner.read.borrow_mut().clear();
        self.inner.write.borrow_mut().clear();
        self.inner.error.set(SocketError::NoError);
        self.inner.error_string.borrow_mut().clear();
        self.inner.paused.set(false);
    }
}
