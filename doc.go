// Package bake is the vocabulary shared by every part of bake, the publisher
// of database-backed websites as flat files.
//
// A [Site] produces [Page] values: a URL path, a content type, a function
// that renders the bytes, and the [Dep] list of everything the page read
// (rows, tables, templates, static files). The build engine renders pages in
// parallel and writes them, with a [Manifest] that maps each path to an
// [Entry]: its hash, size, type and deps. An [Updater] site re-renders only
// the pages a [Change] touches, finding them through an [Index] of the last
// build; publishing compares manifests.
//
// The package depends on the standard library only.
package bake
