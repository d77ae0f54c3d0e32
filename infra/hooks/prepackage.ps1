# azd prepackage hook: vendors the runtime dependencies into the package, exactly as locked.
# `pip install --require-hashes -r requirements.lock` refuses any file whose hash is not in the lock, so Azure runs
# the very distributions CI tested. Wheels for Linux x86-64 / CPython 3.11 (Flex Consumption), whatever the
# machine running azd; azure.yaml sets remoteBuild: false so nothing is resolved again on the server.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$root = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
$target = Join-Path $root '.python_packages/lib/site-packages'
if (Test-Path $target) { Remove-Item -Recurse -Force $target }
$python = if (Get-Command python3 -ErrorAction SilentlyContinue) { 'python3' } else { 'python' }
& $python -m pip install --quiet --require-hashes --no-deps --only-binary=:all: `
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 `
    --python-version 3.11 --implementation cp `
    --target $target --requirement (Join-Path $root 'requirements.lock')
if ($LASTEXITCODE -ne 0) { throw 'pip could not install requirements.lock for Linux x86-64 / CPython 3.11' }
Write-Host "vendored requirements.lock into $target"
