//! Batching property changes ([`PropertyUpdateGroup`], Qt's `QScopedPropertyUpdateGroup`).

use std::fmt;
use std::marker::PhantomData;

use crate::property_graph as graph;

/// Defers property notifications while it lives (Qt's `QScopedPropertyUpdateGroup`,
/// `Qt::beginPropertyUpdateGroup`/`endPropertyUpdateGroup`).
///
/// Each [`set`](crate::Property::set) inside the group stores its value at once; the
/// `changed` signals, and the bindings that only they would run, wait until the group ends
/// (it is dropped, or [`end`](Self::end)ed). Then each property that changed notifies once,
/// with its final value, and each watched binding runs once however many of its
/// dependencies changed. Groups nest: the outermost one delivers.
///
/// Reading a property inside the group gives its current value, a bound one included (its
/// binding runs for the read: Qt would give the value from before the group).
///
/// A property that changed during the group notifies at its end even if it was set back
/// to its first value meanwhile. A group ended by a panic delivers nothing; its
/// notifications go out with the thread's next property change. Forgetting a group
/// (`mem::forget`) defers this thread's notifications for good.
///
/// # Threading
///
/// A group covers the properties of its own thread, and is `!Send`.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use cute_core::{Property, PropertyUpdateGroup};
///
/// let (x, y) = (Property::new(0), Property::new(0));
/// let (x2, y2) = (x.clone(), y.clone());
/// let sum = Property::computed(move || x2.get() + y2.get());
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let s = seen.clone();
/// sum.changed().connect(move |v| s.borrow_mut().push(*v));
/// {
///     let _group = PropertyUpdateGroup::begin();
///     x.set(1);
///     y.set(2);
///     assert!(seen.borrow().is_empty()); // not yet
/// }
/// assert_eq!(*seen.borrow(), [3]); // once, never 1
/// ```
#[doc(alias = "QScopedPropertyUpdateGroup")]
#[doc(alias = "Qt::beginPropertyUpdateGroup")]
#[doc(alias = "beginPropertyUpdateGroup")]
#[must_use = "the group ends when this guard is dropped"]
pub struct PropertyUpdateGroup {
    /// `!Send`: the group belongs to this thread's properties.
    _thread: PhantomData<*const ()>,
}

impl PropertyUpdateGroup {
    /// Opens a group on this thread.
    pub fn begin() -> Self {
        graph::begin_group();
        log::trace!("property update group opened");
        PropertyUpdateGroup { _thread: PhantomData }
    }

    /// Ends the group now (the same as dropping it): if it is the outermost one, the
    /// deferred bindings run and the notifications go out before this returns.
    ///
    /// # Panics
    ///
    /// If a binding or a slot run by the deferred update panics.
    #[doc(alias = "Qt::endPropertyUpdateGroup")]
    #[doc(alias = "endPropertyUpdateGroup")]
    pub fn end(self) {}
}

impl Drop for PropertyUpdateGroup {
    fn drop(&mut self) {
        graph::end_group();
    }
}

impl fmt::Debug for PropertyUpdateGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PropertyUpdateGroup")
    }
}
