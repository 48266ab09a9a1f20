//! A worker object living on its own thread ([`Thread::start_with_object`] and
//! [`ObjectHandle`]): Qt's `moveToThread` pattern, done so the object never crosses
//! threads.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dispatcher::Task;
use crate::error::{Error, PostError};
use crate::event_loop::LoopHandle;
use crate::thread::Thread;

thread_local! {
    /// The worker objects living on this thread, by id.
    static OBJECTS: RefCell<HashMap<u64, Rc<dyn Any>>> = RefCell::new(HashMap::new());
}

static NEXT_OBJECT: AtomicU64 = AtomicU64::new(1);

/// The object `id` of this thread, if it is a `W`.
fn object<W: 'static>(id: u64) -> Option<Rc<W>> {
    let object = OBJECTS.try_with(|o| o.borrow().get(&id).cloned()).ok().flatten()?;
    object.downcast::<W>().ok()
}

/// Keeps a worker object registered on its thread; dropping it (on that thread, when the
/// loop has ended) drops the object.
struct Registered(u64);

impl Registered {
    fn new<W: 'static>(id: u64, object: W) -> Self {
        OBJECTS.with(|o| o.borrow_mut().insert(id, Rc::new(object)));
        Registered(id)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Taken out first, so the object's drop runs without the registry borrowed.
        let object = OBJECTS.try_with(|o| o.borrow_mut().remove(&self.0)).ok().flatten();
        drop(object);
    }
}

impl Thread {
    /// Spawns a thread, builds a worker object on it with `make`, and runs the thread's
    /// loop; returns the thread and a [`ObjectHandle`] to call the object from anywhere.
    /// This is Qt's worker-object pattern (`worker->moveToThread(thread)`), done safely:
    /// the object is created on its thread and never leaves it, so it needs not be `Send`
    /// (it may hold `Rc`s, signals, timers, a network manager).
    ///
    /// The object lives as long as the thread's loop: it is dropped on its own thread when
    /// the loop has ended ([`quit`](Self::quit), [`exit`](Self::exit), or dropping the
    /// `Thread`), after the calls posted before the end have run. Calls made before `make`
    /// has returned wait for it. If `make` panics, the thread ends (`wait` reports the
    /// panic) and calls already posted to the object are dropped.
    ///
    /// # Errors
    ///
    /// As [`Thread::start`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use cute_core::Thread;
    ///
    /// struct Counter {
    ///     total: Cell<u64>, // not Sync, and it never needs to be
    /// }
    ///
    /// let (mut thread, counter) = Thread::start_with_object(|| Counter { total: Cell::new(0) }).unwrap();
    /// counter.invoke(|c| c.total.set(c.total.get() + 40)).unwrap();
    /// let total = counter.invoke_blocking(|c| c.total.get() + 2).unwrap();
    /// assert_eq!(total, 42);
    /// thread.quit();
    /// thread.wait().unwrap();
    /// assert!(counter.invoke(|_| {}).is_err()); // the thread and its object are gone
    /// ```
    #[doc(alias = "moveToThread")]
    #[doc(alias = "QObject::moveToThread")]
    pub fn start_with_object<W, F>(make: F) -> Result<(Thread, ObjectHandle<W>), Error>
    where
        W: 'static,
        F: FnOnce() -> W + Send + 'static,
    {
        Self::start_named_with_object_inner(None, make)
    }

    /// [`start_with_object`](Self::start_with_object) with a thread name.
    ///
    /// # Errors
    ///
    /// As [`Thread::start`].
    pub fn start_named_with_object<W, F>(name: &str, make: F) -> Result<(Thread, ObjectHandle<W>), Error>
    where
        W: 'static,
        F: FnOnce() -> W + Send + 'static,
    {
        Self::start_named_with_object_inner(Some(name.to_owned()), make)
    }

    fn start_named_with_object_inner<W, F>(
        name: Option<String>,
        make: F,
    ) -> Result<(Thread, ObjectHandle<W>), Error>
    where
        W: 'static,
        F: FnOnce() -> W + Send + 'static,
    {
        let id = NEXT_OBJECT.fetch_add(1, Ordering::Relaxed);
        let thread = Thread::spawn_named(name, move || Registered::new(id, make()))?;
        let handle = ObjectHandle { handle: thread.handle(), id, _object: PhantomData };
        Ok((thread, handle))
    }
}

/// A `Send + Clone` handle to a worker object living on its own thread, from
/// [`Thread::start_with_object`]: call the object from any thread.
///
/// [`invoke`](Self::invoke) posts a closure that gets `&W` on the object's thread (Qt's
/// `QMetaObject::invokeMethod(worker, …, Qt::QueuedConnection)`, or a queued connection to
/// a worker slot); [`invoke_with_result`](Self::invoke_with_result) brings a result back to
/// the caller's loop; [`invoke_blocking`](Self::invoke_blocking) waits for it. The object
/// gets `&W`, so state it changes lives in `Cell`s or `RefCell`s, as in any slot.
///
/// # Threading
///
/// `Send + Sync + Clone` whatever `W` is: the handle carries no part of the object. Only
/// `Send` values cross: the closures, and the results. So nothing of a non-`Send` object
/// can leak out:
///
/// ```compile_fail
/// use std::rc::Rc;
/// use cute_core::Thread;
///
/// let (_thread, object) = Thread::start_with_object(|| Rc::new(5)).unwrap();
/// let leaked: Rc<i32> = object.invoke_blocking(|rc| rc.clone()).unwrap(); // Rc is not Send
/// ```
///
/// ```compile_fail
/// use std::rc::Rc;
/// use cute_core::Thread;
///
/// let (_thread, object) = Thread::start_with_object(|| 5).unwrap();
/// let here = Rc::new(1);
/// object.invoke(move |_| drop(here)).unwrap(); // an Rc cannot be sent to the object
/// ```
#[doc(alias = "moveToThread")]
pub struct ObjectHandle<W> {
    handle: LoopHandle,
    id: u64,
    /// `fn(&W)`: the handle is `Send + Sync` whatever `W` is.
    _object: PhantomData<fn(&W)>,
}

impl<W> Clone for ObjectHandle<W> {
    fn clone(&self) -> Self {
        ObjectHandle { handle: self.handle.clone(), id: self.id, _object: PhantomData }
    }
}

impl<W> fmt::Debug for ObjectHandle<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectHandle")
            .field("type", &std::any::type_name::<W>())
            .field("thread", &self.handle)
            .finish()
    }
}

/// A closure posted to a worker object; a [`Task`] of its own so that a failed post hands
/// the user's closure back.
struct Invoke<W, F> {
    id: u64,
    f: F,
    _object: PhantomData<fn(&W)>,
}

impl<W: 'static, F: FnOnce(&W) + Send + 'static> Task for Invoke<W, F> {
    fn run(self: Box<Self>) {
        match object::<W>(self.id) {
            Some(object) => (self.f)(&object),
            None => log::debug!("invoke: the object is gone (its constructor panicked)"),
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl<W: 'static> ObjectHandle<W> {
    /// Runs `f` with the object, on the object's thread, during a later round of its loop
    /// (Qt's queued `invokeMethod`). Calls posted from one thread run in order, and in
    /// order with [`post`](LoopHandle::post)s to the same thread.
    ///
    /// A panic in `f` is a panic on the object's thread: it ends that thread's loop, and
    /// [`Thread::wait`] reports it (use [`invoke_blocking`](Self::invoke_blocking) or
    /// [`invoke_with_result`](Self::invoke_with_result) to get panics back as errors).
    ///
    /// # Errors
    ///
    /// [`PostError`] handing `f` back if the object's thread has ended.
    #[doc(alias = "invokeMethod")]
    pub fn invoke<F>(&self, f: F) -> Result<(), PostError<F>>
    where
        F: FnOnce(&W) + Send + 'static,
    {
        self.handle.send_task(Invoke { id: self.id, f, _object: PhantomData }).map_err(|e| PostError(e.0.f))
    }

    /// Runs `f` with the object on its thread; `on_done` gets the result on the calling
    /// thread's loop (see [`LoopHandle::invoke_async`]: exactly once, never inside this
    /// call, with `Ok`, [`Error::CallPanicked`] or [`Error::LoopGone`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use cute_core::{Signal, SignalSpy, Thread};
    ///
    /// struct Parser;
    /// impl Parser {
    ///     fn word_count(&self, text: &str) -> usize {
    ///         text.split_whitespace().count()
    ///     }
    /// }
    ///
    /// let (_thread, parser) = Thread::start_with_object(|| Parser).unwrap();
    /// let counted = Signal::<usize>::new();
    /// let spy = SignalSpy::new(&counted);
    /// let text = String::from("a worker object on its own thread");
    /// parser.invoke_with_result(move |p| p.word_count(&text), move |n| counted.emit(&n.unwrap()));
    /// assert!(spy.wait(Duration::from_secs(5)));
    /// assert_eq!(spy.take_first(), Some(7));
    /// ```
    #[doc(alias = "invokeMethod")]
    pub fn invoke_with_result<R, F, D>(&self, f: F, on_done: D)
    where
        F: FnOnce(&W) -> R + Send + 'static,
        R: Send + 'static,
        D: FnOnce(Result<R, Error>) + 'static,
    {
        let id = self.id;
        self.handle.invoke_async(
            move || object::<W>(id).map(|object| f(&object)),
            move |result| on_done(result.and_then(|r| r.ok_or(Error::LoopGone))),
        );
    }

    /// Runs `f` with the object on its thread and waits for its result (Qt's
    /// `BlockingQueuedConnection`); see [`LoopHandle::invoke_blocking`]. On the object's own
    /// thread it runs at once.
    ///
    /// # Errors
    ///
    /// As [`LoopHandle::invoke_blocking`].
    #[doc(alias = "BlockingQueuedConnection")]
    pub fn invoke_blocking<R, F>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce(&W) -> R + Send + 'static,
        R: Send + 'static,
    {
        let id = self.id;
        self.handle.invoke_blocking(move || object::<W>(id).map(|object| f(&object)))?.ok_or(Error::LoopGone)
    }

    /// The loop of the object's thread.
    pub fn loop_handle(&self) -> &LoopHandle {
        &self.handle
    }
}
