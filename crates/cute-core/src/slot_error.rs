//! Slots that can fail ([`Signal::try_connect`]) and where their errors go ([`SlotError`],
//! [`set_slot_error_hook`]).

use std::error::Error as StdError;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, RwLock};

use crate::connection::Connection;
use crate::signal::Signal;

/// What the slot error hook is: a function shared by every thread.
pub type SlotErrorHook = Arc<dyn Fn(&SlotError) + Send + Sync + 'static>;

/// The application's slot error hook, if one is set.
static HOOK: RwLock<Option<SlotErrorHook>> = RwLock::new(None);

/// An error returned by a fallible slot ([`Signal::try_connect`]), as handed to the slot
/// error hook ([`set_slot_error_hook`]): the slot's error and the type of the value its
/// signal carries.
///
/// Its `Display` reads `slot of Signal<T> failed: <the error>`; [`source`] is the slot's
/// error, so its whole chain is there.
///
/// [`source`]: std::error::Error::source
///
/// # Threading
///
/// `!Send`: the hook is called with it on the signal's thread, during the emission.
pub struct SlotError {
    error: Box<dyn StdError + 'static>,
    signal_type: &'static str,
}

impl SlotError {
    /// The error the slot returned.
    pub fn error(&self) -> &(dyn StdError + 'static) {
        &*self.error
    }

    /// The slot's error message (its `Display`).
    pub fn message(&self) -> String {
        self.error.to_string()
    }

    /// The name of the type the signal carries (`T` of `Signal<T>`, as
    /// [`std::any::type_name`] spells it).
    pub fn signal_type(&self) -> &'static str {
        self.signal_type
    }
}

impl fmt::Debug for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotError")
            .field("signal_type", &self.signal_type)
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slot of Signal<{}> failed: {}", self.signal_type, self.error)
    }
}

impl StdError for SlotError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.error)
    }
}

/// Sets the application-wide slot error hook: the function called with every error a
/// fallible slot ([`Signal::try_connect`]) returns, after the error is logged with
/// `log::error!`. Replaces the previous hook (see [`take_slot_error_hook`]).
///
/// The hook is global, like `std::panic::set_hook`: one for the process, called on the
/// thread of the signal whose slot failed, during the emission (so it may emit, connect or
/// quit, as a slot may). It therefore has to be `Send + Sync`; state it keeps goes in a
/// `Mutex` or an atomic, or is sent through an [`Emitter`](crate::Emitter). Without a
/// hook, errors are only logged.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use cute_core::{Signal, SlotError};
///
/// static FAILURES: AtomicUsize = AtomicUsize::new(0);
/// cute_core::set_slot_error_hook(|err: &SlotError| {
///     eprintln!("{err}");
///     FAILURES.fetch_add(1, Ordering::Relaxed);
/// });
///
/// let text_changed = Signal::<String>::new();
/// text_changed.try_connect(|text| -> Result<(), std::num::ParseIntError> {
///     let n: i32 = text.parse()?;
///     println!("{n}");
///     Ok(())
/// });
/// text_changed.emit(&"12".to_string());
/// text_changed.emit(&"twelve".to_string()); // the hook gets the ParseIntError
/// assert!(FAILURES.load(Ordering::Relaxed) >= 1);
/// # cute_core::take_slot_error_hook();
/// ```
pub fn set_slot_error_hook<F>(hook: F)
where
    F: Fn(&SlotError) + Send + Sync + 'static,
{
    *HOOK.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(hook));
}

/// Removes the slot error hook and returns it (`None` if none was set): errors of fallible
/// slots are then only logged. Pairs with [`set_slot_error_hook`], like
/// `std::panic::take_hook`, for a hook that wraps the previous one.
pub fn take_slot_error_hook() -> Option<SlotErrorHook> {
    HOOK.write().unwrap_or_else(|e| e.into_inner()).take()
}

/// Logs a slot's error and hands it to the hook.
#[cold]
#[inline(never)]
fn report(error: Box<dyn StdError + 'static>, signal_type: &'static str) {
    let error = SlotError { error, signal_type };
    log::error!("{error}");
    // Called outside the lock: the hook may set another hook, or fail a slot itself.
    let hook = HOOK.read().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(hook) = hook {
        hook(&error);
    }
}

fn check<T, E: Into<Box<dyn StdError + 'static>>>(result: Result<(), E>) {
    if let Err(error) = result {
        report(error.into(), std::any::type_name::<T>());
    }
}

impl<T: 'static> Signal<T> {
    /// Connects a slot that can fail, so that `?` works in it: an `Err` it returns is
    /// logged with `log::error!` and handed, as a [`SlotError`], to the application's slot
    /// error hook ([`set_slot_error_hook`]). Nothing panics and nothing is lost: the
    /// emission goes on to the next slots, and the slot stays connected.
    ///
    /// The error is anything that converts into `Box<dyn Error>`: every
    /// [`std::error::Error`] type, `String`, `&str`, and the error types of `anyhow` and
    /// similar crates. Name it in the closure's return type (`-> Result<(), MyError>`);
    /// `-> Result<(), Box<dyn std::error::Error>>` lets `?` take any error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::error::Error;
    /// use cute_core::Signal;
    ///
    /// let line_read = Signal::<String>::new();
    /// line_read.try_connect(|line| -> Result<(), Box<dyn Error>> {
    ///     let port: u16 = line.trim().parse()?;
    ///     println!("port {port}");
    ///     Ok(())
    /// });
    /// line_read.emit(&"8080".to_string());
    /// line_read.emit(&"not a port".to_string()); // logged (and given to the hook, if set)
    /// ```
    pub fn try_connect<E, F>(&self, mut slot: F) -> Connection
    where
        E: Into<Box<dyn StdError + 'static>>,
        F: FnMut(&T) -> Result<(), E> + 'static,
    {
        self.connect(move |value| check::<T, E>(slot(value)))
    }

    /// [`connect_to`](Self::connect_to) for a slot that can fail, as
    /// [`try_connect`](Self::try_connect): a method
    /// `fn on_x(&self, value: &T) -> Result<(), E>` connects with
    /// `signal.try_connect_to(&this, Self::on_x)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use cute_core::Signal;
    ///
    /// struct Parser {
    ///     sum: Cell<i64>,
    /// }
    ///
    /// impl Parser {
    ///     fn on_line(&self, line: &String) -> Result<(), std::num::ParseIntError> {
    ///         self.sum.set(self.sum.get() + line.parse::<i64>()?);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let line_read = Signal::<String>::new();
    /// let parser = Rc::new(Parser { sum: Cell::new(0) });
    /// line_read.try_connect_to(&parser, Parser::on_line);
    /// for line in ["1", "x", "2"] {
    ///     line_read.emit(&line.to_string());
    /// }
    /// assert_eq!(parser.sum.get(), 3);
    /// ```
    pub fn try_connect_to<R, E, F>(&self, receiver: &Rc<R>, mut slot: F) -> Connection
    where
        R: 'static,
        E: Into<Box<dyn StdError + 'static>>,
        F: FnMut(&R, &T) -> Result<(), E> + 'static,
    {
        self.connect_to(receiver, move |receiver, value| check::<T, E>(slot(receiver, value)))
    }
}
