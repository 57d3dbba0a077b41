//! What a loop item asks together with its siblings: the items of a loop whose first
//! questions have the same shape ask about all their names (packages, units,
//! accounts) in one identical question, which the ask-ahead layer sends once
//! (`connection::Answers`).

use super::Args;

/// The most loop items whose names one question asks about: each item reads every
/// other's arguments, so the work grows with the square of their number.
const MAX_SIBLINGS: usize = 64;

/// The names of every loop item (`siblings`) whose question has the shape `mine`, with
/// the item's `own`, sorted and each once; `None` without siblings or past
/// [`MAX_SIBLINGS`] of them. `item` reads a sibling's arguments as the shape and the
/// names of its question, `None` for one that asks alone.
pub fn same_shape_names<S: PartialEq>(
    siblings: Option<&[Args]>,
    mine: &S,
    own: &[String],
    item: impl Fn(&Args) -> Option<(S, Vec<String>)>,
) -> Option<Vec<String>> {
    let siblings = siblings.filter(|s| s.len() <= MAX_SIBLINGS)?;
    let mut names: Vec<String> = siblings
        .iter()
        .filter_map(item)
        .filter(|(shape, _)| shape == mine)
        .flat_map(|(_, names)| names)
        .chain(own.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    Some(names)
}
