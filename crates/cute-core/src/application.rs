//! The application object ([`CoreApplication`], Qt's `QCoreApplication`).

use std::cell::RefCell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::sync::Mutex;
use std::time::Duration;

use crate::dispatcher::{self, LoopCore};
use crate::error::Error;
use crate::event_loop::LoopHandle;
use crate::signal::Signal;

/// The process-wide record of the application, so `quit`/`exit` work from any thread.
static APP: Mutex<Option<LoopHandle>> = Mutex::new(None);

fn app_handle() -> Option<LoopHandle> {
    APP.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

thread_local! {
    /// The application, on the thread it lives on (for [`CoreApplication::instance`]).
    static INSTANCE: RefCell<Weak<AppInner>> = const { RefCell::new(Weak::new()) };
}

/// The application object: owns the main event loop (Qt's `QCoreApplication`).
///
/// One may exist per process at a time; it lives on the thread that created it.
/// [`exec`](Self::exec) runs the loop until [`CoreApplication::quit`] or
/// [`CoreApplication::exit`], which are associated functions callable from any thread and
/// from slots, just as PyQt scripts call `QCoreApplication.quit()`.
/// This value owns the application: dropping it ends the application, whatever
/// [`ApplicationRef`]s ([`instance`](Self::instance)) still exist.
///
/// # Threading
///
/// `!Send`: the application and its loop belong to the thread that created it (usually
/// `main`). `quit` and `exit` reach it from anywhere; [`handle`](Self::handle) gives a
/// `Send` [`LoopHandle`] for posting work to it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use cute_core::{CoreApplication, Timer};
///
/// let app = CoreApplication::new();
/// Timer::single_shot(Duration::from_millis(10), || CoreApplication::exit(3));
/// assert_eq!(app.exec(), 3);
/// ```
#[doc(alias = "QCoreApplication")]
pub struct CoreApplication {
    app: ApplicationRef,
}

/// A handle to the application on its own thread, from [`CoreApplication::instance`]
/// (Qt's `qApp`): to connect to [`about_to_quit`](Self::about_to_quit), run the loop, or
/// get a [`LoopHandle`], without owning the application. It does not keep the application
/// going: once the [`CoreApplication`] is dropped, the application has ended, and this
/// handle only reaches its loop.
///
/// # Threading
///
/// `!Send`, like the application: [`handle`](Self::handle) gives a `Send` [`LoopHandle`].
///
/// # Examples
///
/// ```
/// use cute_core::CoreApplication;
///
/// let app = CoreApplication::new();
/// let instance = CoreApplication::instance().expect("on the application's thread");
/// instance.about_to_quit().connect(|_| println!("bye"));
/// CoreApplication::quit();
/// assert_eq!(instance.exec(), 0);
/// drop(app);
/// assert!(CoreApplication::instance().is_none());
/// ```
#[doc(alias = "qApp")]
#[derive(Clone)]
pub struct ApplicationRef {
    inner: Rc<AppInner>,
}

/// What the application's handles share.
struct AppInner {
    core: Rc<LoopCore>,
    about_to_quit: Signal<()>,
}

impl fmt::Debug for CoreApplication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoreApplication").field("running", &self.app.is_running()).finish()
    }
}

impl fmt::Debug for ApplicationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationRef").field("running", &self.is_running()).finish()
    }
}

impl CoreApplication {
    /// Creates the application on the current thread.
    ///
    /// # Panics
    ///
    /// If an application already exists, or the event loop cannot be created. Use
    /// [`try_new`](Self::try_new) to handle those as errors.
    pub fn new() -> Self {
        Self::try_new().unwrap_or_else(|e| panic!("CoreApplication::new: {e}"))
    }

    /// Creates the application on the current thread.
    ///
    /// # Errors
    ///
    /// [`Error::ApplicationExists`] if one already exists in the process;
    /// [`Error::Poller`] if the event loop cannot be created.
    pub fn try_new() -> Result<Self, Error> {
        let mut app = APP.lock().unwrap_or_else(|e| e.into_inner());
        if app.is_some() {
            return Err(Error::ApplicationExists);
        }
        let core = dispatcher::try_current().map_err(Error::Poller)?;
        *app = Some(LoopHandle::from_shared(core.shared().clone()));
        let inner = Rc::new(AppInner { core, about_to_quit: Signal::new() });
        INSTANCE.with(|i| *i.borrow_mut() = Rc::downgrade(&inner));
        log::debug!("CoreApplication created");
        Ok(CoreApplication { app: ApplicationRef { inner } })
    }

    /// Whether an application exists in this process.
    pub fn exists() -> bool {
        app_handle().is_some()
    }

    /// A handle to the application, if it exists and lives on the calling thread (Qt's
    /// `QCoreApplication::instance()`): to connect to
    /// [`about_to_quit`](ApplicationRef::about_to_quit), say. The application ends when
    /// the `CoreApplication` [`new`](Self::new) returned is dropped; handles from here do
    /// not keep it going.
    ///
    /// To quit, PyQt's `QCoreApplication.instance().quit()`, call
    /// [`CoreApplication::quit()`](Self::quit) directly: it needs no instance and works
    /// from any thread. (`CoreApplication::instance().unwrap().quit()` works too, on the
    /// application's thread: [`ApplicationRef::quit`].)
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::CoreApplication;
    ///
    /// assert!(CoreApplication::instance().is_none());
    /// let app = CoreApplication::new();
    /// CoreApplication::instance().unwrap().about_to_quit().connect(|_| println!("bye"));
    /// CoreApplication::quit(); // QCoreApplication.instance().quit()
    /// assert_eq!(app.exec(), 0);
    /// ```
    #[doc(alias = "qApp")]
    pub fn instance() -> Option<ApplicationRef> {
        INSTANCE.try_with(|i| i.borrow().upgrade()).ok().flatten().map(|inner| ApplicationRef { inner })
    }

    /// Runs the main event loop until [`quit`](Self::quit) or [`exit`](Self::exit); returns
    /// the exit code, after emitting [`about_to_quit`](Self::about_to_quit). Calling it
    /// while it is already running returns `-1` at once (as Qt does).
    ///
    /// A quit requested before `exec` is kept: `exec` then returns at once (Qt drops such a
    /// request, and the program hangs).
    ///
    /// # Panics
    ///
    /// A panicking slot unwinds out of `exec`; the application stays usable afterwards.
    pub fn exec(&self) -> i32 {
        self.app.exec()
    }

    /// Makes [`exec`](Self::exec) (and every nested [`EventLoop`](crate::EventLoop) of the
    /// application's thread) return `code`. Callable from any thread. Does nothing if no
    /// application exists.
    pub fn exit(code: i32) {
        match app_handle() {
            Some(handle) => {
                let _ = handle.exit(code);
            }
            None => log::debug!("CoreApplication::exit({code}) without an application: ignored"),
        }
    }

    /// [`exit`](Self::exit) with code 0.
    #[doc(alias = "QCoreApplication::quit")]
    pub fn quit() {
        Self::exit(0);
    }

    /// The program's command-line arguments, the program name first (Qt's
    /// `QCoreApplication::arguments()`, Python's `sys.argv`). Arguments that are not valid
    /// Unicode are converted lossily (invalid sequences become `U+FFFD`); use
    /// [`std::env::args_os`] to get them exactly. Unlike Qt, nothing is removed: cute takes
    /// no command-line options of its own. Needs no application.
    ///
    /// # Examples
    ///
    /// ```
    /// let args = cute_core::CoreApplication::arguments();
    /// assert!(!args.is_empty()); // at least the program
    /// ```
    #[doc(alias = "QCoreApplication::arguments")]
    #[doc(alias = "argv")]
    pub fn arguments() -> Vec<String> {
        std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect()
    }

    /// Emitted when [`exec`](Self::exec) has left the loop, before it returns.
    pub fn about_to_quit(&self) -> &Signal<()> {
        self.app.about_to_quit()
    }

    /// A `Send + Clone` handle to the application's loop.
    pub fn handle(&self) -> LoopHandle {
        self.app.handle()
    }

    /// Runs one round of the loop (Qt's `processEvents`); see
    /// [`EventLoop::process_events`](crate::EventLoop::process_events).
    pub fn process_events(&self, max_wait: Duration) -> usize {
        self.app.process_events(max_wait)
    }
}

impl ApplicationRef {
    fn is_running(&self) -> bool {
        self.inner.core.depth() > 0
    }

    /// As [`CoreApplication::exec`].
    pub fn exec(&self) -> i32 {
        if self.is_running() {
            log::warn!("CoreApplication::exec: the event loop is already running");
            return -1;
        }
        let code = self.inner.core.exec(None);
        log::debug!("CoreApplication::exec returned {code}");
        self.inner.about_to_quit.emit(&());
        // A quit asked for by an `about_to_quit` slot has no loop left to end (Qt ignores
        // it too); kept, it would end the next `exec` at once.
        self.inner.core.clear_exit();
        code
    }

    /// As [`CoreApplication::exit`], for code that holds the instance (PyQt's
    /// `QCoreApplication.instance().exit(code)`); `CoreApplication::exit(code)` is the
    /// direct form.
    pub fn exit(&self, code: i32) {
        CoreApplication::exit(code);
    }

    /// As [`CoreApplication::quit`], for code that holds the instance (PyQt's
    /// `QCoreApplication.instance().quit()`); `CoreApplication::quit()` is the direct form.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::CoreApplication;
    ///
    /// let app = CoreApplication::new();
    /// if let Some(instance) = CoreApplication::instance() {
    ///     instance.quit();
    /// }
    /// assert_eq!(app.exec(), 0);
    /// ```
    pub fn quit(&self) {
        CoreApplication::quit();
    }

    /// As [`CoreApplication::about_to_quit`].
    pub fn about_to_quit(&self) -> &Signal<()> {
        &self.inner.about_to_quit
    }

    /// As [`CoreApplication::handle`].
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::from_shared(self.inner.core.shared().clone())
    }

    /// As [`CoreApplication::process_events`].
    pub fn process_events(&self, max_wait: Duration) -> usize {
        crate::event_loop::process_events_on(&self.inner.core, max_wait)
    }
}

impl Default for CoreApplication {
    /// Same as [`CoreApplication::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for CoreApplication {
    fn drop(&mut self) {
        *APP.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let _ = INSTANCE.try_with(|i| *i.borrow_mut() = Weak::new());
        // An exit request nobody ran an `exec` for is forgotten with the application, and
        // the slots of `about_to_quit` go (a slot holding a handle would keep it alive).
        self.app.inner.core.clear_exit();
        self.app.inner.about_to_quit.disconnect_all();
        log::debug!("CoreApplication dropped");
    }
}
