//! A binding as a value ([`PropertyBinding`], Qt's `QPropertyBinding`): what
//! [`Property::set_binding`](crate::Property::set_binding) installs and
//! [`Property::take_binding`](crate::Property::take_binding) hands back.

use std::fmt;

/// A boxed binding closure.
pub(crate) type BindingFn<T> = Box<dyn FnMut() -> T>;

/// The expression a [`Property`](crate::Property) is bound to (Qt's `QPropertyBinding`).
///
/// Usually made implicitly: [`Property::set_binding`](crate::Property::set_binding) takes
/// a closure (`FnMut() -> T + 'static`) or a `PropertyBinding`. A binding taken from a
/// property with [`take_binding`](crate::Property::take_binding) can be set on it, or on
/// another property, again. The dependencies are not part of the binding: they are
/// whatever it reads when it runs.
///
/// # Examples
///
/// ```
/// use cute_core::{Property, PropertyBinding};
///
/// let base = Property::new(20);
/// let b = base.clone();
/// let plus_one = PropertyBinding::new(move || b.get() + 1);
/// let target = Property::new(0);
/// assert!(target.set_binding(plus_one).is_none());
/// assert_eq!(target.get(), 21);
/// ```
#[doc(alias = "QPropertyBinding")]
#[doc(alias = "Qt::makePropertyBinding")]
pub struct PropertyBinding<T: 'static> {
    f: BindingFn<T>,
}

impl<T: 'static> PropertyBinding<T> {
    /// Wraps a closure computing the value.
    pub fn new<F: FnMut() -> T + 'static>(f: F) -> Self {
        PropertyBinding { f: Box::new(f) }
    }

    pub(crate) fn from_inner(f: BindingFn<T>) -> Self {
        PropertyBinding { f }
    }

    pub(crate) fn into_inner(self) -> BindingFn<T> {
        self.f
    }
}

impl<T: 'static, F: FnMut() -> T + 'static> From<F> for PropertyBinding<T> {
    fn from(f: F) -> Self {
        PropertyBinding::new(f)
    }
}

impl<T: 'static> fmt::Debug for PropertyBinding<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PropertyBinding").field("type", &std::any::type_name::<T>()).finish_non_exhaustive()
    }
}
