// The engine's structure stays as issue 23 left it: no import cycle among the modules of src/
// (a module that uses another's items depends on it; a module and the modules under it are one
// unit, see siblingGraph), and no source file over 500 lines but the type renderers of
// src/convert/text/, which are tables of formats.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const src = fileURLToPath(new URL('../src/', import.meta.url))
const MAX_LINES = 500
const EXEMPT = /^convert\/text\//

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.rs') ? [path] : []
  })
}

/** `a/b.rs` and `a/b/mod.rs` are module `a::b`; lib.rs is the crate root ''. */
function moduleOf(file) {
  const parts = relative(src, file).replace(/\.rs$/, '').split('/')
  if (parts.at(-1) === 'mod' || parts.at(-1) === 'lib') parts.pop()
  return parts.join('::')
}

const sources = files(src).map((file) => ({ file, module: moduleOf(file), text: readFileSync(file, 'utf8') }))
const modules = new Set(sources.map((s) => s.module))

/** The longest known module that `path` (a::b::Item) starts with. */
function resolve(path) {
  const parts = path.split('::')
  while (parts.length > 0) {
    const candidate = parts.join('::')
    if (modules.has(candidate)) return candidate
    parts.pop()
  }
  return ''
}

/** What a file's code (its tests aside) uses: crate::…, super::…, and self::… paths, `use` groups expanded. */
function dependencies({ module, text }) {
  const code = text.split(/#\[cfg\(test\)\]/)[0].replace(/\/\/.*$/gm, '')
  const paths = []
  // use crate::a::{b, c::D} → crate::a::b, crate::a::c::D
  for (const [, base, group] of code.matchAll(/\b((?:crate|super|self)(?:::\w+)*)::\{([^}]*)\}/g)) {
    for (const item of group.split(',')) {
      const name = item.trim().split(/\s/)[0]
      if (name && name !== 'self') paths.push(`${base}::${name}`)
      else if (name === 'self') paths.push(base)
    }
  }
  for (const [path] of code.matchAll(/\b(?:crate|super|self)(?:::\w+)+/g)) paths.push(path)
  const deps = new Set()
  const parent = module.split('::').slice(0, -1).join('::')
  for (const path of paths) {
    const [head, ...rest] = path.split('::')
    const base = head === 'crate' ? '' : head === 'super' ? parent : module
    let full = [base, ...rest].filter(Boolean).join('::')
    // super::super::…
    while (full.startsWith('super')) full = full.replace(/^super(::)?/, '')
    const target = resolve(full)
    if (target !== module && target !== '') deps.add(target)
  }
  // Paths that start with a child module's name (`tls::build`, `use tls::MakeTls`).
  for (const [, child] of code.matchAll(/^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;/gm)) {
    if (new RegExp(`(?<![\\w:])${child}::`).test(code.replace(/^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*;/gm, ''))) {
      deps.add(module ? `${module}::${child}` : child)
    }
  }
  return deps
}

const graph = new Map(sources.map((s) => [s.module, dependencies(s)]))

/**
 * The dependencies among the children of `parent` ('' for the crate's top level): child A depends
 * on sibling B when code anywhere under A uses anything under B. A module's use of its own
 * ancestors or descendants is inside one unit (Rust lets a child see its parent's private items;
 * a parent declares and dispatches to its children), so it is not an edge here.
 */
function siblingGraph(parent) {
  const depth = parent === '' ? 0 : parent.split('::').length
  const childOf = (m) => {
    const parts = m.split('::')
    if (parent !== '' && !m.startsWith(parent + '::')) return null
    return parts.length > depth ? parts.slice(0, depth + 1).join('::') : null
  }
  const edges = new Map()
  for (const [from, deps] of graph) {
    const a = childOf(from)
    if (a === null) continue
    if (!edges.has(a)) edges.set(a, new Set())
    for (const to of deps) {
      const b = childOf(to)
      if (b !== null && b !== a) edges.get(a).add(b)
    }
  }
  return edges
}

/** Strongly connected components of more than one node (Tarjan). */
function cyclesOf(edges) {
  let index = 0
  const seen = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const cycles = []
  function visit(v) {
    seen.set(v, index); low.set(v, index); index++
    stack.push(v); onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!seen.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))) } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), seen.get(w)))
    }
    if (low.get(v) === seen.get(v)) {
      const component = []
      let w
      do { w = stack.pop(); onStack.delete(w); component.push(w) } while (w !== v)
      if (component.length > 1) cycles.push(component.sort())
    }
  }
  for (const v of edges.keys()) if (!seen.has(v)) visit(v)
  return cycles
}

test('src/ has no import cycle among sibling modules, at any level', () => {
  const parents = new Set([''])
  for (const m of modules) m.split('::').slice(0, -1).forEach((_, i, parts) => parents.add(parts.slice(0, i + 1).join('::')))
  const cycles = [...parents].flatMap((parent) => cyclesOf(siblingGraph(parent)))
  assert.deepEqual(cycles, [], `modules that depend on each other: ${cycles.map((c) => c.join(' ⇄ ')).join('; ')}`)
})

test(`no file in src/ is over ${MAX_LINES} lines but the type renderers`, () => {
  const long = sources
    .map(({ file, text }) => [relative(src, file), text.split('\n').length - 1])
    .filter(([path, lines]) => lines > MAX_LINES && !EXEMPT.test(path))
  assert.deepEqual(long, [])
})
