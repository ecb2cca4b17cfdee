;;; tb2xls.lsp -- TB2XLS：把 CAD 表格导出为 Excel 可直接打开的 CSV 文件
;;; 用法：加载后输入 TB2XLS，框选整个表格（表格对象，或由直线/多段线画的线条表格连同其中的文字），
;;; 指定保存的 .csv 文件；导出后可选择直接用 Excel（系统关联程序）打开。
;;; 线条表格：水平线和竖直线确定行列，每个文字按其中心落入的单元格归位；同一格多个文字以空格连接；
;;; 合并单元格的内容写在文字中心所在的那一格。多行文字的格式代码会被去掉。

(vl-load-com)

(defun tb2xls-plain (str / out i ch nxt)
  ;; 去掉多行文字格式代码：\P \N \~ 换成空格，\\ \{ \} 还原，\U+ \M+ 字符保留，
  ;; \L \O \K 等开关删除，其余 \X...; 与 { } 删除。
  (setq out ""
        i   1
  )
  (while (<= i (strlen str))
    (setq ch (substr str i 1))
    (cond
      ((= ch "\\")
       (setq nxt (substr str (1+ i) 1))
       (cond
         ((member nxt '("P" "N" "~")) (setq out (strcat out " ") i (+ i 2)))
         ;; \U+XXXX、\M+NXXXX 是字符本身，原样保留
         ((member nxt '("U" "M")) (setq out (strcat out ch) i (1+ i)))
         ((member nxt '("\\" "{" "}")) (setq out (strcat out nxt) i (+ i 2)))
         ((member (strcase nxt) '("L" "O" "K")) (setq i (+ i 2)))
         ((= nxt "S")
          ;; 堆叠分数 \S1^2; 或 \S1/2; 写成 1/2
          (setq i (+ i 2))
          (while (and (<= i (strlen str)) (/= (substr str i 1) ";"))
            (setq out (strcat out (if (= (substr str i 1) "^") "/" (substr str i 1)))
                  i   (1+ i)
            )
          )
          (setq i (1+ i))
         )
         (T
          (while (and (<= i (strlen str)) (/= (substr str i 1) ";"))
            (setq i (1+ i))
          )
          (setq i (1+ i))
         )
       )
      )
      ((member ch '("{" "}")) (setq i (1+ i)))
      (T (setq out (strcat out ch) i (1+ i)))
    )
  )
  out
)

(defun tb2xls-csv-field (str / out i ch)
  ;; CSV 字段：含逗号、引号或换行时加引号，其中的引号写成两个。
  (if (or (vl-string-search "," str) (vl-string-search "\"" str) (vl-string-search "\n" str))
    (progn
      (setq out "\""
            i   1
      )
      (while (<= i (strlen str))
        (setq ch  (substr str i 1)
              out (strcat out (if (= ch "\"") "\"\"" ch))
              i   (1+ i)
        )
      )
      (strcat out "\"")
    )
    str
  )
)

(defun tb2xls-add (value sorted fuzz)
  ;; 把 VALUE 插入升序列表 SORTED（与已有值相差不到 FUZZ 时不重复加入）。
  (if (vl-some '(lambda (x) (equal x value fuzz)) sorted)
    sorted
    (vl-sort (cons value sorted) '<)
  )
)

(defun tb2xls-index (value bounds / n)
  ;; VALUE 落在升序分界 BOUNDS 的第几个区间（从 0 起）；在范围外时返回 nil。
  (setq n 0)
  (if (and (> value (car bounds)) (< value (last bounds)))
    (progn
      (while (> value (nth (1+ n) bounds))
        (setq n (1+ n))
      )
      n
    )
  )
)

(defun tb2xls-segments (ent / ed etype pts segs)
  ;; 直线或多段线的各直线段，每段为 (起点 终点)，二维。
  (setq ed    (entget ent)
        etype (cdr (assoc 0 ed))
  )
  (if (= etype "LINE")
    (list (list (cdr (assoc 10 ed)) (cdr (assoc 11 ed))))
    (progn
      (foreach pair ed
        (if (= (car pair) 10) (setq pts (cons (cdr pair) pts)))
      )
      (setq pts (reverse pts))
      (if (= 1 (logand 1 (cdr (assoc 70 ed))))
        (setq pts (append pts (list (car pts))))
      )
      (while (cdr pts)
        (setq segs (cons (list (car pts) (cadr pts)) segs)
              pts  (cdr pts)
        )
      )
      segs
    )
  )
)

(defun tb2xls-table-rows (tbl / rows cols r c row out)
  ;; 表格对象的内容：行的列表，每行为字符串列表。
  (setq rows (vla-get-Rows tbl)
        cols (vla-get-Columns tbl)
        r    0
  )
  (while (< r rows)
    (setq row nil
          c   0
    )
    (while (< c cols)
      (setq row (cons (tb2xls-plain (vla-GetText tbl r c)) row)
            c   (1+ c)
      )
    )
    (setq out (cons (reverse row) out)
          r   (1+ r)
    )
  )
  (reverse out)
)

(defun tb2xls-line-rows (ss / i ent etype xs ys texts fuzz minpt maxpt mid col row cells key old out line c r)
  ;; 线条表格的内容：由水平线、竖直线分格，文字按中心归格。
  (setq fuzz 1e-3
        i    0
  )
  (while (< i (sslength ss))
    (setq ent   (ssname ss i)
          etype (cdr (assoc 0 (entget ent)))
          i     (1+ i)
    )
    (if (wcmatch etype "TEXT,MTEXT")
      (setq texts (cons ent texts))
      (foreach seg (tb2xls-segments ent)
        (cond
          ((equal (cadr (car seg)) (cadr (cadr seg)) fuzz) (setq ys (tb2xls-add (cadr (car seg)) ys fuzz)))
          ((equal (car (car seg)) (car (cadr seg)) fuzz) (setq xs (tb2xls-add (car (car seg)) xs fuzz)))
        )
      )
    )
  )
  (if (and (cdr xs) (cdr ys))
    (progn
      (foreach ent texts
        (vla-GetBoundingBox (vlax-ename->vla-object ent) 'minpt 'maxpt)
        (setq mid (mapcar '(lambda (a b) (/ (+ a b) 2.0))
                          (vlax-safearray->list minpt)
                          (vlax-safearray->list maxpt)
                  )
              col (tb2xls-index (car mid) xs)
              ;; 行从上往下数
              row (tb2xls-index (- (cadr mid)) (reverse (mapcar '- ys)))
        )
        (if (and col row)
          (setq key   (list row col)
                line  (tb2xls-plain (vla-get-TextString (vlax-ename->vla-object ent)))
                old   (assoc key cells)
                cells (if old
                        (subst (cons key (strcat (cdr old) " " line)) old cells)
                        (cons (cons key line) cells)
                      )
          )
        )
      )
      (setq r 0)
      (while (< r (1- (length ys)))
        (setq line nil
              c    0
        )
        (while (< c (1- (length xs)))
          (setq line (cons (cond ((cdr (assoc (list r c) cells))) ("")) line)
                c    (1+ c)
          )
        )
        (setq out (cons (reverse line) out)
              r   (1+ r)
        )
      )
      (reverse out)
    )
  )
)

(defun c:TB2XLS (/ ss tbl i rows path file row text)
  (princ "\n框选要导出的表格（表格对象，或线条表格连同文字）：")
  (if (setq ss (ssget '((0 . "ACAD_TABLE,LINE,LWPOLYLINE,TEXT,MTEXT"))))
    (progn
      (setq i 0)
      (while (and (not tbl) (< i (sslength ss)))
        (if (= (cdr (assoc 0 (entget (ssname ss i)))) "ACAD_TABLE")
          (setq tbl (vlax-ename->vla-object (ssname ss i)))
        )
        (setq i (1+ i))
      )
      (setq rows (if tbl (tb2xls-table-rows tbl) (tb2xls-line-rows ss)))
      (cond
        ((not rows) (princ "\n没有识别出表格：线条表格至少需要两条水平线和两条竖直线。"))
        ((and (setq path (getfiled "表格导出到" (strcat (getvar "DWGPREFIX") "表格.csv") "csv" 1))
              (setq file (open path "w"))
         )
         (foreach row rows
           (setq text (tb2xls-csv-field (car row)))
           (foreach cell (cdr row)
             (setq text (strcat text "," (tb2xls-csv-field cell)))
           )
           (write-line text file)
         )
         (close file)
         (princ (strcat "\n已导出 " (itoa (length rows)) " 行到 " path))
         (initget "Yes No")
         (if (= "Yes" (getkword "\n用 Excel 打开？[是(Y)/否(N)] <N>: "))
           (startapp "explorer" (strcat "\"" path "\""))
         )
        )
        (T (princ "\n未导出：没有指定文件或文件无法写入。"))
      )
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nTB2XLS 已加载：输入 TB2XLS 把表格导出到 Excel。")
(princ)
