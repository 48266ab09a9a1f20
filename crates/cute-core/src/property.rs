//! Observable values with bindings ([`Property`], Qt's `Q_PROPERTY` with a `NOTIFY` signal
//! and Qt 6's `QProperty`), and weak handles to them ([`WeakProperty`]).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use crate::binding::{BindingFn, PropertyBinding};
use crate::error::BindingError;
use crate::property_graph::{self as graph, Node, NodeCore, State};
use crate::signal::Signal;

/// The shared state of a property: its value, binding and `changed` signal.
struct PropInner<T: 'static> {
    core: NodeCore,
    value: RefCell<T>,
    /// Taken out while it runs (so it may touch its own property), then put back.
    binding: RefCell<Option<BindingFn<T>>>,
    /// Bumped whenever the binding is replaced or removed, so that an evaluation running
    /// meanwhile does not put its binding back or commit its value.
    generation: Cell<u64>,
    error: Cell<Option<BindingError>>,
    changed: Signal<T>,
}

impl<T: Clone + PartialEq + 'static> Node for PropInner<T> {
    fn core(&self) -> &NodeCore {
        &self.core
    }

    fn recompute(&self, this: &Rc<dyn Node>) {
        if self.core.is_busy() {
            return;
        }
        let generation = self.generation.get();
        let Some(f) = self.binding.borrow_mut().take() else {
            self.core.set_clean();
            return;
        };
        let mut running = Running { inner: self, generation, f: Some(f) };
        let tracked = graph::track(Some(&self.core), || (running.f.as_mut().expect("put back on drop"))());
        drop(running); // puts the binding back
        if self.generation.get() != generation {
            return; // the binding was replaced or removed while it ran
        }
        if tracked.looped || !graph::set_sources(this, tracked.reads) {
            self.core.set_clean();
            if self.error.replace(Some(BindingError::Loop)).is_none() {
                log::error!(
                    "binding loop: the binding of a Property<{}> depends on its own value; \
                     it keeps its last value",
                    std::any::type_name::<T>()
                );
            }
            return;
        }
        self.error.set(None);
        self.core.set_clean();
        if *self.value.borrow() != tracked.value {
            let old = self.value.replace(tracked.value);
            graph::value_changed(this);
            drop(old);
        }
    }

    fn emit_changed(&self) {
        let value = self.value.borrow().clone();
        self.changed.emit(&value);
    }

    fn is_observed(&self) -> bool {
        self.changed.receivers() != 0
    }
}

impl<T: 'static> Drop for PropInner<T> {
    fn drop(&mut self) {
        // The binding (dropped after this) holds handles to the sources: they are alive.
        self.core.unlink_sources(self as *const Self as *const ());
    }
}

/// Puts a running binding back into its property when it returns or panics, unless it was
/// replaced or removed meanwhile.
struct Running<'a, T: 'static> {
    inner: &'a PropInner<T>,
    generation: u64,
    f: Option<BindingFn<T>>,
}

impl<T: 'static> Drop for Running<'_, T> {
    fn drop(&mut self) {
        if self.inner.generation.get() == self.generation {
            *self.inner.binding.borrow_mut() = self.f.take();
        }
    }
}

/// An observable value that may be bound to an expression over other properties: Qt's
/// `Q_PROPERTY(… NOTIFY …)` and Qt 6's `QProperty`, PyQt's `pyqtProperty` with a `notify`
/// signal.
///
/// [`get`](Self::get) reads the value, [`set`](Self::set) writes it and emits
/// [`changed`](Self::changed) — only if the new value differs (`T: PartialEq`). A
/// *binding* ([`set_binding`](Self::set_binding), [`computed`](Self::computed)) makes the
/// value a function of other properties: every property the binding reads is tracked as a
/// dependency, and when one of them changes the binding runs again. There is nothing to
/// declare: the dependencies are whatever the last evaluation read, so a binding that reads
/// `a` or `b` depending on a flag depends on the flag and on the branch taken only.
///
/// `Property` is a handle: clones share one value, like an `Rc` (capture a clone in a
/// binding or a slot; [`downgrade`](Self::downgrade) for a handle that does not keep the
/// property alive).
///
/// # Bindings
///
/// - **Evaluation.** [`set_binding`](Self::set_binding) runs the binding at once. After
///   that, a change to a dependency only marks the binding stale; it runs again when the
///   property is read, or, if the property's `changed` signal has slots, before the
///   change's notifications go out (at the end of `set`, or of an
///   [update group](crate::PropertyUpdateGroup)). So a binding nobody reads or watches
///   costs nothing (Qt 6 is lazy too), and a watched one is never late.
/// - **No glitches.** Before a binding runs, the properties it read last time are brought
///   up to date, in the order it read them; it runs only if one of them really changed
///   (a dependency that recomputes to an equal value stops the update there). So in a
///   diamond (`d` reads `b` and `c`, both read `a`), setting `a` runs `d`'s binding once,
///   with the new `b` and the new `c`, and nobody — not a slot, not another binding —
///   ever reads a value computed from a mix of old and new ones.
/// - **Writing** a bound property ([`set`](Self::set), [`replace`](Self::replace),
///   [`update`](Self::update)) removes its binding (Qt's rule).
/// - **Loops.** A binding that reads its own property, directly or through other
///   bindings, is a binding loop: the evaluation that would close the loop is discarded,
///   the property keeps its last value, [`binding_error`](Self::binding_error) returns
///   [`BindingError::Loop`] and the loop is logged (`log::error!`), once. The binding stays
///   (as in Qt); nothing recurses or spins.
/// - **Panics.** A binding that panics propagates the panic (as a slot does) out of the
///   `get`, `set` or `set_binding` that ran it. The property keeps its last value and its
///   binding, and stays stale: the next read runs the binding again.
/// - **Bindings must not write properties.** They may (nothing breaks, and
///   the notifications go out once the outermost read ends), but a binding that writes
///   what it reads has no meaning.
/// - **Depth.** Updates walk an explicit stack, so a chain of thousands of bindings costs
///   no recursion. Freeing a chain is recursive, though: dropping its last property drops
///   its binding, which holds the property before it, and so on (chains of 1,000 are
///   tested).
///
/// # Emission semantics
///
/// `changed` is an ordinary [`Signal<T>`]: `connect`, `connect_to`, `SignalSpy`, blocking
/// all work. It is emitted with a clone of the new value, after the value is stored (a
/// slot that reads the property sees the new value), at most once per change, and never
/// with an intermediate value. A slot may write properties, this one included: their
/// notifications go out before that write returns, as in Qt.
///
/// # Threading
///
/// A property is `!Send`, like [`Signal`]: it, its bindings and its slots live on one
/// thread, and each thread has its own dependency graph. Another thread changes a property
/// by posting to its loop (an [`Emitter`](crate::Emitter) whose slot calls `set`).
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use cute_core::Property;
///
/// let width = Property::new(2);
/// let height = Property::new(3);
/// let area = Property::new(0);
/// let (w, h) = (width.clone(), height.clone());
/// area.set_binding(move || w.get() * h.get());
/// assert_eq!(area.get(), 6);
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// area.changed().connect(move |a| s.borrow_mut().push(*a));
///
/// width.set(4); // area follows: 12
/// height.set(3); // no change, no signal
/// area.set(1); // a write removes the binding
/// width.set(10);
/// assert_eq!(area.get(), 1);
/// assert_eq!(*seen.borrow(), [12, 1]);
/// ```
#[doc(alias = "Q_PROPERTY")]
#[doc(alias = "QProperty")]
#[doc(alias = "QObjectBindableProperty")]
#[doc(alias = "pyqtProperty")]
pub struct Property<T: 'static> {
    inner: Rc<PropInner<T>>,
}

impl<T: 'static> Clone for Property<T> {
    /// Another handle to the same property (not a copy of the value).
    fn clone(&self) -> Self {
        Property { inner: self.inner.clone() }
    }
}

impl<T: Clone + PartialEq + Default + 'static> Default for Property<T> {
    fn default() -> Self {
        Property::new(T::default())
    }
}

impl<T: fmt::Debug + 'static> fmt::Debug for Property<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Property");
        match self.inner.value.try_borrow() {
            Ok(value) => d.field("value", &*value),
            Err(_) => d.field("value", &format_args!("<being written>")),
        };
        d.field("stale", &(self.inner.core.state() != State::Clean))
            .field("binding_error", &self.inner.error.get())
            .finish_non_exhaustive()
    }
}

impl<T: Clone + PartialEq + 'static> Property<T> {
    /// Creates a property holding `value`, without a binding.
    pub fn new(value: T) -> Self {
        Property { inner: Rc::new(PropInner::with_value(value)) }
    }

    /// Creates a property bound to `binding`, which runs at once (Qt's
    /// `QProperty(Functor)`). The same as [`new`](Self::new) then
    /// [`set_binding`](Self::set_binding), without a first value to make up.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::Property;
    ///
    /// let celsius = Property::new(100.0);
    /// let c = celsius.clone();
    /// let fahrenheit = Property::computed(move || c.get() * 9.0 / 5.0 + 32.0);
    /// assert_eq!(fahrenheit.get(), 212.0);
    /// celsius.set(0.0);
    /// assert_eq!(fahrenheit.get(), 32.0);
    /// ```
    #[doc(alias = "QProperty")]
    pub fn computed<F: FnMut() -> T + 'static>(binding: F) -> Self {
        let mut f: BindingFn<T> = Box::new(binding);
        let tracked = graph::track(None, &mut f);
        let property = Property { inner: Rc::new(PropInner::with_value(tracked.value)) };
        // A new node has no observers, so its first sources cannot close a loop.
        let linked = graph::set_sources(&property.node(), tracked.reads);
        if tracked.looped || !linked {
            property.inner.error.set(Some(BindingError::Loop));
            log::error!("binding loop while creating a computed Property<{}>", std::any::type_name::<T>());
        }
        *property.inner.binding.borrow_mut() = Some(f);
        graph::deliver_leftovers();
        property
    }

    fn node(&self) -> Rc<dyn Node> {
        self.inner.clone()
    }

    /// The current value (Qt's `value()`, the `READ` accessor). A stale binding runs first;
    /// inside a binding, the read makes this property a dependency.
    ///
    /// # Panics
    ///
    /// If the property's binding panics.
    #[doc(alias = "value")]
    pub fn get(&self) -> T {
        graph::read(&self.node());
        self.inner.value.borrow().clone()
    }

    /// Calls `f` with a reference to the current value, without cloning it; like
    /// [`get`](Self::get), it brings a stale binding up to date and counts as a dependency
    /// inside a binding.
    ///
    /// # Panics
    ///
    /// If `f` writes this property (the value is borrowed while `f` runs), or if the
    /// property's binding panics.
    ///
    /// # Examples
    ///
    /// ```
    /// let names = cute_core::Property::new(vec!["a".to_string(), "b".to_string()]);
    /// assert_eq!(names.with(|v| v.len()), 2);
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        graph::read(&self.node());
        f(&self.inner.value.borrow())
    }

    /// Sets the value (Qt's `setValue`, the `WRITE` accessor) and, if it differs from the
    /// old one, emits [`changed`](Self::changed) and updates the bindings that depend on
    /// this property. A binding on this property is removed first, even if the value is
    /// the same.
    ///
    /// Inside an [update group](crate::PropertyUpdateGroup) the value is stored at once
    /// and the notifications wait for the group's end.
    ///
    /// # Panics
    ///
    /// If a slot or a binding run by the update panics (the value is stored by then), or
    /// if called inside [`with`](Self::with) on this property.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let count = cute_core::Property::new(0);
    /// let emitted = Rc::new(Cell::new(0));
    /// let e = emitted.clone();
    /// count.changed().connect(move |_| e.set(e.get() + 1));
    /// count.set(1);
    /// count.set(1); // no change: no signal
    /// assert_eq!(emitted.get(), 1);
    /// ```
    #[doc(alias = "setValue")]
    pub fn set(&self, value: T) {
        drop(self.replace(value));
    }

    /// [`set`](Self::set), returning the old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let state = cute_core::Property::new("idle");
    /// assert_eq!(state.replace("busy"), "idle");
    /// assert_eq!(state.get(), "busy");
    /// ```
    pub fn replace(&self, value: T) -> T {
        let binding = self.detach();
        // A stale binding is not run: its value is about to be overwritten.
        self.inner.core.set_clean();
        let old = self.inner.value.replace(value);
        if old != *self.inner.value.borrow() {
            graph::value_changed(&self.node());
            graph::flush_if_idle();
        }
        drop(binding);
        old
    }

    /// Changes the value in place: `f` gets a copy of the current value to edit, and the
    /// result is [`set`](Self::set) (so `changed` is emitted only if `f` changed it, and a
    /// binding is removed).
    ///
    /// # Examples
    ///
    /// ```
    /// let items = cute_core::Property::new(vec![1, 2]);
    /// items.update(|v| v.push(3));
    /// assert_eq!(items.get(), [1, 2, 3]);
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        graph::pull(&self.node());
        let mut value = self.inner.value.borrow().clone();
        f(&mut value);
        self.set(value);
    }

    /// The signal emitted with the new value after each change (the `NOTIFY` signal; Qt's
    /// `QProperty::onValueChanged`/`subscribe`). See "Emission semantics" above.
    ///
    /// A stale binding is brought up to date first, so that a slot connected now hears of
    /// every later change.
    #[doc(alias = "NOTIFY")]
    #[doc(alias = "onValueChanged")]
    #[doc(alias = "valueChanged")]
    pub fn changed(&self) -> &Signal<T> {
        if self.inner.core.state() != State::Clean {
            graph::pull(&self.node());
        }
        &self.inner.changed
    }

    /// Binds the property to `binding` (a closure, or a [`PropertyBinding`] taken from a
    /// property), which runs at once; returns the binding it replaces (Qt's `setBinding`).
    /// From now on the property's value is what the binding returns, recomputed whenever a
    /// property it read changes. See "Bindings" above.
    ///
    /// # Panics
    ///
    /// If the binding, or a slot notified of the new value, panics (the binding is
    /// installed by then).
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::Property;
    ///
    /// let flag = Property::new(true);
    /// let (a, b) = (Property::new(1), Property::new(2));
    /// let picked = Property::new(0);
    /// let (f, a2, b2) = (flag.clone(), a.clone(), b.clone());
    /// picked.set_binding(move || if f.get() { a2.get() } else { b2.get() });
    /// assert_eq!(picked.get(), 1);
    /// flag.set(false);
    /// assert_eq!(picked.get(), 2); // now depends on `flag` and `b` only
    /// ```
    #[doc(alias = "setBinding")]
    pub fn set_binding(&self, binding: impl Into<PropertyBinding<T>>) -> Option<PropertyBinding<T>> {
        let old = self.detach();
        *self.inner.binding.borrow_mut() = Some(binding.into().into_inner());
        let node = self.node();
        graph::invalidate(&node);
        // Run now, unless this property's binding is the one running (it asked to be
        // replaced): then on the next read.
        if !self.inner.core.is_busy() {
            self.inner.recompute(&node);
        }
        graph::flush_if_idle();
        old.map(PropertyBinding::from_inner)
    }

    /// Whether the property has a binding (Qt's `hasBinding`).
    #[doc(alias = "hasBinding")]
    pub fn has_binding(&self) -> bool {
        self.inner.binding.borrow().is_some() || self.inner.core.is_busy()
    }

    /// Removes the binding and returns it; the property keeps its current value (Qt's
    /// `takeBinding`). The binding can be set on this property or another again.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::Property;
    ///
    /// let source = Property::new(1);
    /// let s = source.clone();
    /// let doubled = Property::computed(move || s.get() * 2);
    /// let binding = doubled.take_binding().unwrap();
    /// source.set(5);
    /// assert_eq!(doubled.get(), 2); // no longer follows
    /// doubled.set_binding(binding);
    /// assert_eq!(doubled.get(), 10);
    /// ```
    #[doc(alias = "takeBinding")]
    pub fn take_binding(&self) -> Option<PropertyBinding<T>> {
        graph::pull(&self.node()); // keep the value the binding gives now
        self.detach().map(PropertyBinding::from_inner)
    }

    /// Removes the binding, if any, keeping the current value; returns whether there was
    /// one. The binding's closure is dropped.
    pub fn clear_binding(&self) -> bool {
        let binding = self.take_binding();
        let had = binding.is_some();
        drop(binding);
        had
    }

    /// The error of the binding's evaluation: `Some(BindingError::Loop)` after a binding
    /// loop, `None` after a good evaluation or without a binding (Qt's
    /// `QPropertyBinding::error`). A stale binding runs first, so the answer is about the
    /// current value.
    ///
    /// # Examples
    ///
    /// ```
    /// use cute_core::{BindingError, Property};
    ///
    /// let p = Property::new(1);
    /// let me = p.downgrade();
    /// p.set_binding(move || me.upgrade().map_or(0, |p| p.get()) + 1);
    /// assert_eq!(p.binding_error(), Some(BindingError::Loop));
    /// assert_eq!(p.get(), 1); // the last good value
    /// ```
    pub fn binding_error(&self) -> Option<BindingError> {
        graph::pull(&self.node());
        self.inner.error.get()
    }

    /// A handle that does not keep the property alive (for a slot on this property's own
    /// `changed` signal, which would otherwise keep it alive forever).
    pub fn downgrade(&self) -> WeakProperty<T> {
        WeakProperty { inner: Rc::downgrade(&self.inner) }
    }

    /// Removes the binding (if any) and its dependency edges; returns it, for the caller to
    /// drop once nothing is borrowed.
    fn detach(&self) -> Option<BindingFn<T>> {
        let inner = &self.inner;
        let binding = inner.binding.borrow_mut().take();
        if binding.is_some() || inner.core.is_busy() || inner.core.source_count() != 0 {
            inner.generation.set(inner.generation.get() + 1);
            inner.core.unlink_sources(Rc::as_ptr(inner) as *const ());
            inner.error.set(None);
            inner.core.set_clean();
        }
        binding
    }
}

impl<T: 'static> PropInner<T> {
    fn with_value(value: T) -> Self {
        PropInner {
            core: NodeCore::default(),
            value: RefCell::new(value),
            binding: RefCell::new(None),
            generation: Cell::new(0),
            error: Cell::new(None),
            changed: Signal::new(),
        }
    }
}

/// A handle to a [`Property`] that does not keep it alive (`Rc`'s `Weak`); made by
/// [`Property::downgrade`].
pub struct WeakProperty<T: 'static> {
    inner: Weak<PropInner<T>>,
}

impl<T: 'static> WeakProperty<T> {
    /// The property, if it is still alive.
    pub fn upgrade(&self) -> Option<Property<T>> {
        self.inner.upgrade().map(|inner| Property { inner })
    }
}

impl<T: 'static> Clone for WeakProperty<T> {
    fn clone(&self) -> Self {
        WeakProperty { inner: self.inner.clone() }
    }
}

impl<T: 'static> fmt::Debug for WeakProperty<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakProperty")
            .field("type", &std::any::type_name::<T>())
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}
