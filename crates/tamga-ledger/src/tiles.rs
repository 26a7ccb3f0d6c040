//! Tiles in memory with their inner nodes (C2SP tlog-tiles: a tile is a subtree of height 8):
//! expanding a tile once (255 hashes) makes every node of the Merkle tree a lookup, so a proof
//! costs O(log n) lookups and no hashing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::merkle::{Hash, NodeSource, node_hash};

/// Hashes per full tile.
pub const TILE_WIDTH: usize = 256;

/// A tile and the complete inner nodes above its hashes: `levels[r]` holds the nodes of
/// height `r` within the tile (`levels[0]` is the tile itself).
#[derive(Debug, Clone)]
pub struct ExpandedTile {
    levels: Vec<Vec<Hash>>,
}

impl ExpandedTile {
    /// Expands a (full or partial) tile.
    pub fn new(hashes: Vec<Hash>) -> Self {
        let mut levels = vec![hashes];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let next: Vec<Hash> = prev
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            if next.is_empty() {
                break;
            }
            levels.push(next);
        }
        ExpandedTile { levels }
    }

    /// The tile's own hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The node of height `r` at position `j` within the tile.
    pub fn node(&self, r: u32, j: usize) -> Option<&Hash> {
        self.levels.get(r as usize).and_then(|l| l.get(j))
    }

    /// The root of a full tile (its height-8 node).
    pub fn root(&self) -> Option<&Hash> {
        self.node(8, 0)
    }
}

/// Tiles by (level, index), as a node source: node (8t + r, i) is found in tile level `t`.
#[derive(Default, Clone)]
pub struct TileMap {
    /// The tiles.
    pub tiles: HashMap<(u32, u64), Arc<ExpandedTile>>,
}

/// Where node (level, index) lives: (tile level, tile index, height in tile, position).
pub fn locate(level: u32, index: u64) -> (u32, u64, u32, usize) {
    let (t, r) = (level / 8, level % 8);
    let per_tile = (TILE_WIDTH as u64) >> r;
    (t, index / per_tile, r, (index % per_tile) as usize)
}

impl NodeSource for TileMap {
    fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
        let (t, tile, r, j) = locate(level, index);
        self.tiles
            .get(&(t, tile))
            .and_then(|x| x.node(r, j))
            .copied()
            .ok_or_else(|| format!("node ({level}, {index}) is not in the loaded tiles"))
    }
}

/// Builds every tile of a tree from its leaf hashes (benchmarks, tests, offline tools).
pub fn build(leaves: &[Hash]) -> TileMap {
    let mut map = TileMap::default();
    let mut level_hashes: Vec<Hash> = leaves.to_vec();
    let mut level = 0u32;
    loop {
        let mut next = Vec::with_capacity(level_hashes.len() / TILE_WIDTH + 1);
        for (i, chunk) in level_hashes.chunks(TILE_WIDTH).enumerate() {
            let t = ExpandedTile::new(chunk.to_vec());
            if chunk.len() == TILE_WIDTH
                && let Some(root) = t.root()
            {
                next.push(*root);
            }
            map.tiles.insert((level, i as u64), Arc::new(t));
        }
        if next.is_empty() {
            break;
        }
        level_hashes = next;
        level += 1;
    }
    map
}
