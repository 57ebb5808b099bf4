"""Reports: comparison tables, the HTML report, trace trees and diffs."""
