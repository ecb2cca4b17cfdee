;;; ptin.lsp -- PTIN：从 txt 或 csv 读取坐标，批量画点或连线
;;; 用法：加载后输入 PTIN，选择坐标文件和格式，再选择画点、连线或两者都要。
;;; 格式：
;;;   XY   每行 X,Y[,Z]（逗号、空格或制表符分隔；首行为表头等非数字行自动跳过）
;;;   CASS 南方 CASS 的 .dat：点号,编码,Y(东),X(北),H —— 东坐标作图形 X、北坐标作图形 Y
;;; 坐标按世界坐标系（WCS）绘制；连线为一条按文件顺序经过各点的三维多段线。

(defun ptin-split (line / fields field i ch)
  ;; 按逗号、空格、制表符拆分一行；连续空格或制表符视为一个分隔符，连续逗号保留空字段。
  (setq field ""
        i     1
  )
  (while (<= i (strlen line))
    (setq ch (substr line i 1))
    (cond
      ((= ch ",")
       (setq fields (cons field fields)
             field  ""
       )
      )
      ((member ch '(" " "\t"))
       (if (/= field "")
         (setq fields (cons field fields)
               field  ""
         )
       )
      )
      (T (setq field (strcat field ch)))
    )
    (setq i (1+ i))
  )
  (if (/= field "") (setq fields (cons field fields)))
  (reverse fields)
)

(defun ptin-point (fields cass / nums)
  ;; 一行的字段 -> WCS 点；不是坐标行时返回 nil。
  (if cass
    (setq fields (if (>= (length fields) 4) (cddr fields))
          nums   (mapcar '(lambda (s) (distof s 2)) fields)
          nums   (if (and (car nums) (cadr nums))
                   (list (car nums) (cadr nums) (if (caddr nums) (caddr nums) 0.0))
                 )
    )
    (setq nums (mapcar '(lambda (s) (distof s 2)) fields)
          nums (if (and (>= (length nums) 2) (car nums) (cadr nums))
                 (list (car nums) (cadr nums) (if (caddr nums) (caddr nums) 0.0))
               )
    )
  )
  nums
)

(defun c:PTIN (/ path fmt draw file line pt pts count)
  (if (setq path (getfiled "选择坐标文件" (getvar "DWGPREFIX") "csv;txt;dat" 4))
    (progn
      (initget "XY CASS")
      (setq fmt (getkword (strcat "\n文件格式 [XY/CASS] <" (if (wcmatch (strcase path) "*.DAT") "CASS" "XY") ">: ")))
      (if (not fmt)
        (setq fmt (if (wcmatch (strcase path) "*.DAT") "CASS" "XY"))
      )
      (initget "Point Line Both")
      (setq draw (getkword "\n画 [点(P)/连线(L)/点和连线(B)] <P>: "))
      (if (not draw) (setq draw "Point"))
      (if (setq file (open path "r"))
        (progn
          (while (setq line (read-line file))
            (if (setq pt (ptin-point (ptin-split line) (= fmt "CASS")))
              (setq pts (cons pt pts))
            )
          )
          (close file)
          (setq pts   (reverse pts)
                count (length pts)
          )
          (if (member draw '("Point" "Both"))
            (foreach pt pts
              (entmake (list '(0 . "POINT") (cons 10 pt)))
            )
          )
          (if (and (member draw '("Line" "Both")) (> count 1))
            (progn
              (entmake '((0 . "POLYLINE") (66 . 1) (10 0.0 0.0 0.0) (70 . 8)))
              (foreach pt pts
                (entmake (list '(0 . "VERTEX") (cons 10 pt) '(70 . 32)))
              )
              (entmake '((0 . "SEQEND")))
            )
          )
          (princ (strcat "\n读取 " (itoa count) " 个坐标点。"))
          (if (= 0 (getvar "PDMODE"))
            (princ "\n提示：点样式为默认的小点，可用 PTYPE 改成更醒目的样式。")
          )
        )
        (princ (strcat "\n无法打开文件 " path))
      )
    )
  )
  (princ)
)

(princ "\nPTIN 已加载：输入 PTIN 导入坐标。")
(princ)
