import { describe, expect, it } from "vitest";
import { MinHeap } from "../../../probes/min-heap.js";

interface Item {
  at: number;
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function drain(heap: MinHeap<Item>): number[] {
  const out: number[] = [];
  for (let item = heap.pop(); item; item = heap.pop()) out.push(item.at);
  return out;
}

describe("MinHeap", () => {
  it("pops in ascending order", () => {
    const random = lcg(7);
    const heap = new MinHeap<Item>((a, b) => a.at < b.at);
    const values = Array.from({ length: 500 }, () => Math.floor(random() * 100));
    for (const at of values) heap.push({ at });
    expect(heap.size).toBe(500);
    expect(heap.peek()?.at).toBe(Math.min(...values));
    expect(drain(heap)).toEqual([...values].sort((a, b) => a - b));
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });

  it("removes arbitrary items and keeps the order of the rest", () => {
    const random = lcg(42);
    const heap = new MinHeap<Item>((a, b) => a.at < b.at);
    const items = Array.from({ length: 300 }, () => ({ at: Math.floor(random() * 1000) }));
    for (const item of items) heap.push(item);
    const removed = items.filter((_, i) => i % 3 === 0);
    for (const item of removed) expect(heap.remove(item)).toBe(true);
    expect(heap.remove(removed[0] as Item)).toBe(false);
    expect(heap.has(removed[0] as Item)).toBe(false);
    const kept = items.filter((_, i) => i % 3 !== 0).map((item) => item.at);
    expect(drain(heap)).toEqual(kept.sort((a, b) => a - b));
  });

  it("supports re-pushing an item with a new key after removing it", () => {
    const heap = new MinHeap<Item>((a, b) => a.at < b.at);
    const a = { at: 1 };
    const b = { at: 2 };
    heap.push(a);
    heap.push(b);
    heap.remove(a);
    a.at = 3;
    heap.push(a);
    expect(drain(heap)).toEqual([2, 3]);
  });

  it("refuses the same item twice", () => {
    const heap = new MinHeap<Item>((a, b) => a.at < b.at);
    const a = { at: 1 };
    heap.push(a);
    expect(() => heap.push(a)).toThrow(/already/);
  });

  it("removes the last and only items", () => {
    const heap = new MinHeap<Item>((a, b) => a.at < b.at);
    const a = { at: 1 };
    const b = { at: 2 };
    heap.push(a);
    heap.push(b);
    expect(heap.remove(b)).toBe(true);
    expect(heap.remove(a)).toBe(true);
    expect(heap.size).toBe(0);
  });
});
