/* perceptcl: PCL_API, the mark of every public declaration.
 *
 * The library is built with hidden symbol visibility (meson:
 * gnu_symbol_visibility 'hidden'), so a function or table is exported from
 * the shared library only when its declaration in include/perceptcl/ carries
 * PCL_API; everything else (src/ helpers, the internal headers under src/) stays
 * inside it. tests/test_exports.sh checks that `nm -D --defined-only` lists
 * exactly the PCL_API names. On Windows src/meson.build defines
 * PCL_BUILDING_DLL while compiling the library; a program linking the static
 * library there defines PCL_STATIC. */
#ifndef PERCEPTCL_EXPORT_H
#define PERCEPTCL_EXPORT_H

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(PCL_BUILDING_DLL)
#define PCL_API __declspec(dllexport)
#elif defined(PCL_STATIC)
#define PCL_API
#else
#define PCL_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define PCL_API __attribute__((visibility("default")))
#else
#define PCL_API
#endif

#endif
