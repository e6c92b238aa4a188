//! Import one waveform file and print what was read and how long it took; run under `/usr/bin/time -v` for the
//! peak memory. Used for the README's "Why not polars for import" numbers:
//!
//! ```sh
//! cargo run --release --example import -- --generate /tmp/big.csv 5000000     # t,v generic CSV
//! cargo run --release --example import -- --generate-ngspice /tmp/big.txt 5000000
//! cargo run --release --example import -- --generate-ngspice /tmp/big9.txt 5000000 9   # 9 digits: 180 MB
//! /usr/bin/time -v target/release/examples/import /tmp/big.csv generic
//! /usr/bin/time -v target/release/examples/import /tmp/big.txt ngspice
//! ```

use stc_synapse::io::waveform::{read_file, Format};
use std::io::Write;
use std::path::Path;

fn generate(path: &str, rows: usize, ngspice: bool, digits: usize) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    if !ngspice {
        writeln!(f, "t,v")?;
    }
    for k in 0..rows {
        let t = k as f64 * 1e-9;
        let v = 0.9 + 1e-3 * (k as f64 * 1e-3).sin();
        if ngspice {
            writeln!(f, " {t:.digits$e}  {v:.digits$e}")?;
        } else {
            writeln!(f, "{t:.digits$e},{v:.digits$e}")?;
        }
    }
    f.flush()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, path, rows, digits @ ..] if flag.starts_with("--generate") && digits.len() <= 1 => {
            let rows: usize = rows.parse().expect("row count");
            let digits: usize = digits.first().map_or(6, |d| d.parse().expect("digits after the point"));
            generate(path, rows, flag == "--generate-ngspice", digits).expect("write");
        }
        [path, format] => {
            let format: Format = format.parse().expect("format");
            let t0 = std::time::Instant::now();
            match read_file(Path::new(path), &format, None) {
                Ok(f) => {
                    let wall = t0.elapsed().as_secs_f64();
                    for t in &f.traces {
                        println!("{}: {} points", t.name, t.t_s.len());
                    }
                    println!("import: {wall:.2} s");
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            }
        }
        _ => {
            eprintln!(
                "usage: import FILE FORMAT | --generate FILE ROWS [DIGITS] | --generate-ngspice FILE ROWS [DIGITS]"
            );
            std::process::exit(2);
        }
    }
}
